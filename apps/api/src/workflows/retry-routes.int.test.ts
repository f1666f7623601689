import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

async function createWorkflow(body: unknown = sampleWorkflow()) {
  const res = await h.request('POST', '/api/workflows', { body });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string; version: number }>();
}

const versionsOf = async (id: string) =>
  Number(
    (await h.db.pool.query('select count(*) from workflow_versions where workflow_id = $1', [id]))
      .rows[0].count,
  );

describe('PUT /api/workflows/:id/retry', () => {
  it('stores a new version whose settings.retry is the policy, keeping the other settings', async () => {
    const base = { ...sampleWorkflow('retry-me'), settings: { fail_fast: false } };
    const wf = await createWorkflow(base);
    // ACT
    const res = await h.request('PUT', `/api/workflows/${wf.id}/retry`, {
      body: { strategy: 'fixed', max_attempts: 4, initial_delay_ms: 250 },
    });
    // ASSERT
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ id: wf.id, name: 'retry-me', version: 2 });
    expect(body.definition).toEqual({
      ...base,
      settings: {
        fail_fast: false,
        retry: { max_attempts: 4, backoff: 'fixed', initial_delay_ms: 250 },
      },
    });
    expect(Object.keys(body).sort()).toEqual(
      ['created_at', 'definition', 'id', 'name', 'updated_at', 'version'].sort(),
    );
    const v1 = (await h.request('GET', `/api/workflows/${wf.id}?version=1`)).json();
    expect(v1.definition).toEqual(base);
    const latest = (await h.request('GET', `/api/workflows/${wf.id}`)).json();
    expect(latest.version).toBe(2);
    expect(latest.definition.settings.retry).toEqual({
      max_attempts: 4,
      backoff: 'fixed',
      initial_delay_ms: 250,
    });
  });

  it('replaces an earlier default on the next call', async () => {
    const wf = await createWorkflow();
    await h.request('PUT', `/api/workflows/${wf.id}/retry`, {
      body: { strategy: 'fixed', max_attempts: 2 },
    });
    // ACT
    const res = await h.request('PUT', `/api/workflows/${wf.id}/retry`, {
      body: { strategy: 'exponential', max_attempts: 5, initial_delay_ms: 100, max_delay_ms: 900 },
    });
    // ASSERT
    expect(res.statusCode).toBe(200);
    expect(res.json().version).toBe(3);
    expect(res.json().definition.settings).toEqual({
      retry: { max_attempts: 5, backoff: 'exponential', initial_delay_ms: 100, max_delay_ms: 900 },
    });
  });

  it('answers 400 naming the field and stores nothing', async () => {
    const wf = await createWorkflow();
    const cases: [unknown, string][] = [
      [{ max_attempts: 3 }, '/strategy'],
      [{ strategy: 'linear', max_attempts: 3 }, '/strategy'],
      [{ strategy: 'fixed' }, '/max_attempts'],
      [{ strategy: 'fixed', max_attempts: 0 }, '/max_attempts'],
      [{ strategy: 'fixed', max_attempts: 21 }, '/max_attempts'],
      [{ strategy: 'fixed', max_attempts: 2, initial_delay_ms: -1 }, '/initial_delay_ms'],
      [{ strategy: 'fixed', max_attempts: 2, max_delay_ms: 'soon' }, '/max_delay_ms'],
      [{ strategy: 'fixed', max_attempts: 2, backoff: 'fixed' }, '/backoff'],
    ];
    for (const [body, path] of cases) {
      // ACT
      const res = await h.request('PUT', `/api/workflows/${wf.id}/retry`, { body });
      // ASSERT
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect(await versionsOf(wf.id)).toBe(1);
  });

  it("answers 404 for an unknown workflow and another tenant's", async () => {
    const body = { strategy: 'fixed', max_attempts: 2 };
    expect((await h.request('PUT', '/api/workflows/nope/retry', { body })).statusCode).toBe(404);
    const wf = await createWorkflow();
    const other = await h.keyFor(['workflows:write', 'workflows:read'], await h.newTenant());
    // ACT
    const res = await h.request('PUT', `/api/workflows/${wf.id}/retry`, { key: other, body });
    // ASSERT
    expect(res.statusCode).toBe(404);
    expect(await versionsOf(wf.id)).toBe(1);
  });

  it('needs workflows:write', async () => {
    const wf = await createWorkflow();
    const key = await h.keyFor(['workflows:read', 'executions:write']);
    const body = { strategy: 'fixed', max_attempts: 2 };
    // ACT
    const res = await h.request('PUT', `/api/workflows/${wf.id}/retry`, { key, body });
    // ASSERT
    expect(res.statusCode).toBe(403);
    expect(await versionsOf(wf.id)).toBe(1);
  });

  it('answers 422 when the resulting definition is invalid (a stored node type no longer enabled)', async () => {
    const wf = await createWorkflow();
    // A version stored before its node type was disabled: written past the validator.
    const stale = { name: 'stale', nodes: [{ id: 'x', type: 'retired', config: {} }] };
    await h.db.pool.query(
      'insert into workflow_versions (workflow_id, version, definition) values ($1, 2, $2)',
      [wf.id, JSON.stringify(stale)],
    );
    await h.db.pool.query('update workflows set latest_version = 2 where id = $1', [wf.id]);
    // ACT
    const res = await h.request('PUT', `/api/workflows/${wf.id}/retry`, {
      body: { strategy: 'fixed', max_attempts: 2 },
    });
    // ASSERT
    expect(res.statusCode).toBe(422);
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain('/nodes/0/type');
    expect(await versionsOf(wf.id)).toBe(2);
  });
});

describe('PUT /api/workflows/:id/retry: a version stored meanwhile', () => {
  it('re-applies the policy on top of it instead of overwriting it', async () => {
    const wf = await createWorkflow({ ...sampleWorkflow('race'), settings: { fail_fast: false } });
    const edited = { ...sampleWorkflow('race-edited'), settings: { fail_fast: false } };
    // ARRANGE: hold the workflow row's lock so the route stores only after our version
    const client = await h.db.pool.connect();
    try {
      await client.query('begin');
      await client.query('select 1 from workflows where id = $1 for update', [wf.id]);
      const put = h.request('PUT', `/api/workflows/${wf.id}/retry`, {
        body: { strategy: 'fixed', max_attempts: 3 },
      });
      await expect
        .poll(
          async () =>
            (
              await h.db.pool.query(
                `select count(*)::int as n from pg_stat_activity where datname = current_database()
                   and wait_event_type = 'Lock' and query ilike '%for update%'`,
              )
            ).rows[0].n,
          { timeout: 10_000, interval: 50 },
        )
        .toBe(1);
      // ACT: a concurrent PUT /api/workflows/:id lands first
      await client.query(
        'insert into workflow_versions (workflow_id, version, definition) values ($1, 2, $2)',
        [wf.id, JSON.stringify(edited)],
      );
      await client.query(
        `update workflows set latest_version = 2, name = 'race-edited' where id = $1`,
        [wf.id],
      );
      await client.query('commit');
      const res = await put;
      // ASSERT: version 3 is the concurrent edit with the retry policy, nothing lost
      expect(res.statusCode).toBe(200);
      const body = res.json<{ version: number; definition: typeof edited }>();
      expect(body.version).toBe(3);
      expect(body.definition.name).toBe('race-edited');
      expect(body.definition.settings).toEqual({
        fail_fast: false,
        retry: { max_attempts: 3, backoff: 'fixed' },
      });
    } finally {
      await client.query('rollback').catch(() => undefined);
      client.release();
    }
  }, 30_000);
});
