import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

const withOnError = (id: string) => ({
  ...sampleWorkflow('guarded'),
  settings: { on_error_workflow_id: id },
});

async function create(body: unknown, key?: string) {
  return h.request('POST', '/api/workflows', { body, ...(key && { key }) });
}

function expectOnErrorProblem(res: { statusCode: number; json(): unknown }) {
  expect(res.statusCode).toBe(422);
  const problem = res.json() as { errors: { path: string; message: string }[] };
  expect(problem.errors.map((e) => e.path)).toEqual(['/settings/on_error_workflow_id']);
}

describe('settings.on_error_workflow_id', () => {
  it('is accepted when it names a workflow of the same tenant', async () => {
    const alerts = (await create(sampleWorkflow('alerts'))).json<{ id: string }>();
    // ACT
    const res = await create(withOnError(alerts.id));
    // ASSERT
    expect(res.statusCode).toBe(201);
    expect(res.json().definition.settings).toEqual({ on_error_workflow_id: alerts.id });
  });

  it('answers 422 naming the field on create when the workflow does not exist', async () => {
    expectOnErrorProblem(await create(withOnError('wf-does-not-exist')));
  });

  it("answers 422 on create and on a new version when it is another tenant's workflow", async () => {
    const other = await h.newTenant();
    const otherKey = await h.keyFor(['workflows:write', 'workflows:read'], other);
    const theirs = (await create(sampleWorkflow('theirs'), otherKey)).json<{ id: string }>();
    const mine = (await create(sampleWorkflow('mine'))).json<{ id: string }>();
    // ACT
    const created = await create(withOnError(theirs.id));
    const updated = await h.request('PUT', `/api/workflows/${mine.id}`, {
      body: withOnError(theirs.id),
    });
    // ASSERT
    expectOnErrorProblem(created);
    expectOnErrorProblem(updated);
    expect((await h.request('GET', `/api/workflows/${mine.id}`)).json().version).toBe(1);
  });

  it('answers 422 when the named workflow was deleted', async () => {
    const gone = (await create(sampleWorkflow('gone'))).json<{ id: string }>();
    expect((await h.request('DELETE', `/api/workflows/${gone.id}`)).statusCode).toBe(204);
    expectOnErrorProblem(await create(withOnError(gone.id)));
  });
});
