import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChildExecutionStore, createRunStore } from '@linkflow/store';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

const calling = (name: string, target: string, extra: Record<string, unknown> = {}) => ({
  name,
  nodes: [{ id: 'call', type: 'subworkflow', config: { workflow_id: target, ...extra } }],
});

async function create(body: unknown, key?: string) {
  return h.request('POST', '/api/workflows', { body, ...(key && { key }) });
}

async function createdId(body: unknown): Promise<string> {
  const res = await create(body);
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string }>().id;
}

function expectProblem(res: { statusCode: number; json(): unknown }, message: string) {
  expect(res.statusCode).toBe(422);
  const problem = res.json() as { errors: { path: string; message: string }[] };
  expect(problem.errors).toEqual([{ path: '/nodes/0/config/workflow_id', message }]);
}

describe('subworkflow targets at create and PUT', () => {
  it('accepts a workflow of the tenant, a pinned version and a templated id', async () => {
    const target = await createdId(sampleWorkflow('target'));
    expect((await create(calling('plain', target))).statusCode).toBe(201);
    expect((await create(calling('pinned', target, { version: 1 }))).statusCode).toBe(201);
    expect((await create(calling('dynamic', '{{ input.wf }}'))).statusCode).toBe(201);
  });

  it('answers 422 for an unknown workflow and an unknown pinned version', async () => {
    const target = await createdId(sampleWorkflow('versioned'));
    expectProblem(await create(calling('lost', 'wf-nope')), 'no workflow wf-nope in this tenant');
    expectProblem(
      await create(calling('lost-version', target, { version: 9 })),
      `no workflow ${target} version 9 in this tenant`,
    );
  });

  it("answers 422 for another tenant's workflow", async () => {
    const other = await h.newTenant();
    const otherKey = await h.keyFor(['workflows:write'], other);
    const theirs = (await create(sampleWorkflow('theirs'), otherKey)).json<{ id: string }>().id;
    expectProblem(await create(calling('snoop', theirs)), `no workflow ${theirs} in this tenant`);
  });

  it('answers 422 for a new version that calls its own workflow, directly or through another', async () => {
    const me = await createdId(sampleWorkflow('me'));
    const middle = await createdId(calling('middle', me));
    // ACT
    const direct = await h.request('PUT', `/api/workflows/${me}`, { body: calling('me', me) });
    const loop = await h.request('PUT', `/api/workflows/${me}`, { body: calling('me', middle) });
    // ASSERT
    expectProblem(direct, 'a workflow may not call itself');
    expectProblem(loop, `workflow calls itself: ${me} -> ${middle} -> ${me}`);
    expect((await h.request('GET', `/api/workflows/${me}`)).json().version).toBe(1);
  });

  it('answers 422 when static references nest deeper than 5', async () => {
    // new -> w4 -> w3 -> w2 -> w1 -> w0 is 5 deep (accepted); one more level is refused
    let below = await createdId(sampleWorkflow('w0'));
    for (let level = 1; level <= 4; level++) below = await createdId(calling(`w${level}`, below));
    const fifth = await create(calling('five-deep', below));
    expect(fifth.statusCode).toBe(201);
    expectProblem(
      await create(calling('six-deep', fifth.json<{ id: string }>().id)),
      'subworkflows nest 6 levels deep (max 5)',
    );
  });
});

describe('executions with children', () => {
  /** A parent execution claimed by a (fake) worker, with a child started by its `call` node. */
  async function parentWithChild() {
    const target = await createdId(sampleWorkflow('child-target'));
    const parentWf = await createdId(calling('parent', target));
    const started = await h.request('POST', '/api/executions', {
      body: { workflow_id: parentWf, input_data: {} },
    });
    const parentId = started.json<{ id: string }>().id;
    const claim = await createRunStore({ pool: h.db.pool, workerId: 'w' }).claim(
      parentId,
      new Date(),
    );
    if (!claim.claimed) throw new TypeError('not claimed');
    const child = await createChildExecutionStore({ pool: h.db.pool }).start({
      parent: claim.execution.fence,
      nodeId: 'call',
      workflowId: target,
      version: undefined,
      input: { total: 1 },
      at: new Date(),
    });
    if (child.kind !== 'created') throw new TypeError(`child not created: ${child.kind}`);
    return { parentId, childId: child.child.executionId, fence: claim.execution.fence };
  }

  it('shows the child on the parent and the parent on the child', async () => {
    const { parentId, childId } = await parentWithChild();
    // ACT
    const parent = (await h.request('GET', `/api/executions/${parentId}`)).json();
    const child = (await h.request('GET', `/api/executions/${childId}`)).json();
    // ASSERT
    expect(parent).toMatchObject({
      parent_execution_id: null,
      depth: 0,
      child_executions: [{ node_id: 'call', execution_id: childId, status: 'pending' }],
    });
    expect(parent.node_runs).toContainEqual(
      expect.objectContaining({ node_id: 'call', status: 'running', child_execution_id: childId }),
    );
    expect(child).toMatchObject({
      parent_execution_id: parentId,
      parent_node_id: 'call',
      depth: 1,
      input_data: { total: 1 },
    });
  });

  it('cancels the children with the parent', async () => {
    const { parentId, childId } = await parentWithChild();
    // ACT
    const res = await h.request('POST', `/api/executions/${parentId}/cancel`);
    // ASSERT
    expect(res.statusCode).toBe(200);
    expect(res.json().child_executions).toEqual([
      { node_id: 'call', execution_id: childId, status: 'cancelled' },
    ]);
    const child = (await h.request('GET', `/api/executions/${childId}`)).json();
    expect(child).toMatchObject({
      status: 'cancelled',
      error: { type: 'CANCELLATION', message: `parent execution ${parentId} cancelled` },
    });
  });

  it('wakes and enqueues the parent parked on a child cancelled directly', async () => {
    const { parentId, childId, fence } = await parentWithChild();
    const store = createChildExecutionStore({ pool: h.db.pool });
    expect(await store.park(fence, new Date())).toBe('parked');
    // ACT
    const res = await h.request('POST', `/api/executions/${childId}/cancel`);
    // ASSERT
    expect(res.statusCode).toBe(200);
    const parked = await h.db.pool.query<{ parked_at: Date | null }>(
      'select parked_at from executions where id = $1',
      [parentId],
    );
    expect(parked.rows[0]?.parked_at).toBeNull();
    expect(await (await h.queue.getJob(parentId))?.getState()).toMatch(/waiting|prioritized/);
  });
});
