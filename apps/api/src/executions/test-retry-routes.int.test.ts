import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { createApiHarness, type ApiHarness } from '../testing/api-harness.ts';
import { startTcpProxy } from '../testing/stream-fixture.ts';

// The dry run over node runs written straight into a pending execution (no executor
// consumes the harness's queue); test-retry-executor.int.test.ts covers a real run.

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

/** Three nodes: `own` has its own policy, `dflt` and `bad` fall back to settings.retry. */
const definition = {
  name: 'dry-run',
  nodes: [
    {
      id: 'own',
      type: 'http',
      config: { method: 'GET', url: 'http://127.0.0.1:9/x' },
      retry: { max_attempts: 4, backoff: 'exponential', initial_delay_ms: 100, max_delay_ms: 250 },
    },
    { id: 'dflt', type: 'http', config: { method: 'GET', url: 'http://127.0.0.1:9/y' } },
    { id: 'bad', type: 'transform', config: { expression: '1' } },
    { id: 'fine', type: 'transform', config: { expression: '2' } },
  ],
  settings: { retry: { max_attempts: 3, backoff: 'fixed', initial_delay_ms: 40 } },
};

async function pendingExecutionWithFailures(): Promise<string> {
  const wf = await h.request('POST', '/api/workflows', { body: definition });
  expect(wf.statusCode).toBe(201);
  const started = await h.request('POST', '/api/executions', {
    body: { workflow_id: wf.json<{ id: string }>().id },
  });
  expect(started.statusCode).toBe(202);
  const id = started.json<{ id: string }>().id;
  const errors = {
    own: { type: 'CONNECTIVITY', message: 'connect ECONNREFUSED 127.0.0.1:9' },
    dflt: {
      type: 'RETRY_EXHAUSTED',
      message: 'gave up after 2 attempts: HTTP 503',
      cause: { type: 'EXECUTION', message: 'HTTP 503', status: 503 },
    },
    bad: { type: 'EXPRESSION', message: 'no such path' },
  };
  await h.db.pool.query(
    `insert into node_runs (execution_id, node_id, type, status, attempts, error) values
      ($1, 'own', 'http', 'failed', 1, $2), ($1, 'dflt', 'http', 'failed', 2, $3),
      ($1, 'bad', 'transform', 'failed', 1, $4), ($1, 'fine', 'transform', 'success', 1, null)`,
    [id, JSON.stringify(errors.own), JSON.stringify(errors.dflt), JSON.stringify(errors.bad)],
  );
  return id;
}

/** Every row the tenant's executions own, and every job of the queue. */
async function footprint() {
  const rows = await h.db.pool.query(
    `select (select count(*)::int from executions where tenant_id = $1) as executions,
            (select count(*)::int from node_runs n join executions e on e.id = n.execution_id
               where e.tenant_id = $1) as node_runs,
            (select count(*)::int from execution_transitions t join executions e
               on e.id = t.execution_id where e.tenant_id = $1) as transitions,
            (select count(*)::int from execution_logs l join executions e
               on e.id = l.execution_id where e.tenant_id = $1) as logs,
            (select coalesce(max(n.updated_at), 'epoch') from node_runs n join executions e
               on e.id = n.execution_id where e.tenant_id = $1) as touched`,
    [h.tenantId],
  );
  return { ...rows.rows[0], jobs: await h.queue.queue.getJobCounts() };
}

describe('POST /api/executions/:id/test-retry', () => {
  it('answers each failed node: error, retryability, its policy and the delays left', async () => {
    const id = await pendingExecutionWithFailures();
    const before = await footprint();
    const key = await h.keyFor(['executions:read']);
    // ACT
    const res = await h.request('POST', `/api/executions/${id}/test-retry`, { key });
    // ASSERT
    expect(res.statusCode).toBe(200);
    const body = res.json<{ execution_id: string; nodes: { node_id: string }[] }>();
    expect(body.execution_id).toBe(id);
    const byNode = Object.fromEntries(body.nodes.map((n) => [n.node_id, n]));
    expect(Object.keys(byNode).sort()).toEqual(['bad', 'dflt', 'own']);
    expect(byNode['own']).toEqual({
      node_id: 'own',
      type: 'http',
      error: { type: 'CONNECTIVITY', message: 'connect ECONNREFUSED 127.0.0.1:9' },
      retryable: true,
      policy: {
        strategy: 'exponential',
        max_attempts: 4,
        initial_delay_ms: 100,
        max_delay_ms: 250,
      },
      attempts_made: 1,
      delays_ms: [100, 200, 250],
    });
    expect(byNode['dflt']).toEqual({
      node_id: 'dflt',
      type: 'http',
      error: { type: 'RETRY_EXHAUSTED', message: 'gave up after 2 attempts: HTTP 503' },
      retryable: true,
      policy: { strategy: 'fixed', max_attempts: 3, initial_delay_ms: 40, max_delay_ms: 30000 },
      attempts_made: 2,
      delays_ms: [40],
    });
    expect(byNode['bad']).toMatchObject({
      error: { type: 'EXPRESSION' },
      retryable: false,
      attempts_made: 1,
      delays_ms: [],
    });
    // A dry run: no row, no log, no transition, no job, no node run touched.
    expect(await footprint()).toEqual(before);
  });

  it('answers an empty list for an execution without failed nodes', async () => {
    const wf = await h.request('POST', '/api/workflows', { body: definition });
    const started = await h.request('POST', '/api/executions', {
      body: { workflow_id: wf.json<{ id: string }>().id },
    });
    const id = started.json<{ id: string }>().id;
    // ACT
    const res = await h.request('POST', `/api/executions/${id}/test-retry`);
    // ASSERT
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ execution_id: id, nodes: [] });
  });

  it("answers 404 for an unknown execution and another tenant's, and needs executions:read", async () => {
    const id = await pendingExecutionWithFailures();
    expect((await h.request('POST', '/api/executions/nope/test-retry')).statusCode).toBe(404);
    const other = await h.keyFor(['executions:read'], await h.newTenant());
    // ACT
    const foreign = await h.request('POST', `/api/executions/${id}/test-retry`, { key: other });
    const unscoped = await h.request('POST', `/api/executions/${id}/test-retry`, {
      key: await h.keyFor(['workflows:read']),
    });
    // ASSERT
    expect(foreign.statusCode).toBe(404);
    expect(foreign.headers['content-type']).toContain('application/problem+json');
    expect(unscoped.statusCode).toBe(403);
  });
});

describe('POST /api/executions/:id/test-retry: stored errors of unexpected shape', () => {
  it('answers 200 with an UNKNOWN error for each ill-shaped one and a bounded message', async () => {
    const wf = await h.request('POST', '/api/workflows', { body: definition });
    const started = await h.request('POST', '/api/executions', {
      body: { workflow_id: wf.json<{ id: string }>().id },
    });
    const id = started.json<{ id: string }>().id;
    const huge = 'x'.repeat(2 * 1024 * 1024);
    const odd: [string, unknown][] = [
      ['null', null],
      ['string', 'boom'],
      ['no-type', { message: 'm' }],
      ['alien-type', { type: 'MELTDOWN', message: 'm' }],
      ['number-message', { type: 'CONNECTIVITY', message: 42 }],
      ['bad-cause', { type: 'RETRY_EXHAUSTED', message: 'm', cause: 'x' }],
      ['huge', { type: 'CONNECTIVITY', message: huge }],
    ];
    for (const [node, error] of odd)
      await h.db.pool.query(
        `insert into node_runs (execution_id, node_id, type, status, attempts, error)
          values ($1, $2, 'http', 'failed', 1, $3::jsonb)`,
        [id, node, error === null ? null : JSON.stringify(error)],
      );
    // ACT
    const res = await h.request('POST', `/api/executions/${id}/test-retry`);
    // ASSERT
    expect(res.statusCode).toBe(200);
    type Node = { node_id: string; error: { type: string; message: string }; retryable: boolean };
    const nodes = res.json<{ nodes: Node[] }>().nodes;
    const by = Object.fromEntries(nodes.map((n) => [n.node_id, n]));
    expect(Object.keys(by).sort()).toEqual(odd.map(([n]) => n).sort());
    for (const node of ['null', 'string', 'no-type', 'alien-type'])
      expect(by[node]).toMatchObject({ error: { type: 'UNKNOWN' }, retryable: false });
    expect(by['number-message']).toMatchObject({
      error: { type: 'CONNECTIVITY', message: '42' },
      retryable: true,
    });
    expect(by['bad-cause']).toMatchObject({ error: { type: 'RETRY_EXHAUSTED' }, retryable: false });
    expect(by['huge']?.error.message.length).toBeLessThanOrEqual(8 * 1024);
    expect(by['huge']?.retryable).toBe(true);
  });
});

describe('POST /api/executions/:id/test-retry: deleted workflow', () => {
  it('still answers for an execution whose workflow was deleted (its pinned version stays)', async () => {
    const id = await pendingExecutionWithFailures();
    const exec = await h.request('GET', `/api/executions/${id}`);
    const wfId = exec.json<{ workflow_id: string }>().workflow_id;
    await h.db.pool.query(`update executions set status = 'failed' where id = $1`, [id]);
    expect((await h.request('DELETE', `/api/workflows/${wfId}`)).statusCode).toBe(204);
    // ACT
    const res = await h.request('POST', `/api/executions/${id}/test-retry`);
    const foreign = await h.request('POST', `/api/executions/${id}/test-retry`, {
      key: await h.keyFor(['executions:read'], await h.newTenant()),
    });
    // ASSERT
    expect(res.statusCode).toBe(200);
    const nodes = res.json<{ nodes: { node_id: string }[] }>().nodes.map((n) => n.node_id);
    expect(nodes.sort()).toEqual(['bad', 'dflt', 'own']);
    expect(foreign.statusCode).toBe(404);
  });
});

describe('retry routes: Postgres vanishes', () => {
  it('answers a server error from both routes while it is gone, writes no version, and works once it is back', async () => {
    // ARRANGE: a second API reaches Postgres through a proxy the test cuts.
    const direct = new URL(testDatabaseUrl());
    const proxy = await startTcpProxy(Number(direct.port || 5432), 'postgresql');
    const proxied = new URL(testDatabaseUrl());
    proxied.port = String(proxy.port);
    const p = await createApiHarness({ databaseUrl: proxied.href });
    try {
      const wf = await p.request('POST', '/api/workflows', { body: definition });
      const wfId = wf.json<{ id: string }>().id;
      const started = await p.request('POST', '/api/executions', { body: { workflow_id: wfId } });
      const id = started.json<{ id: string }>().id;
      const body = { strategy: 'fixed', max_attempts: 2 };
      // ACT: Postgres is gone for this API
      await proxy.cut();
      const put = await p.request('PUT', `/api/workflows/${wfId}/retry`, { body });
      const dry = await p.request('POST', `/api/executions/${id}/test-retry`);
      const plainPut = await p.request('PUT', `/api/workflows/${wfId}`, { body: definition });
      // ASSERT: a problem+json server error, as the other store-backed routes answer
      expect(put.statusCode).toBeGreaterThanOrEqual(500);
      expect(put.statusCode).toBe(plainPut.statusCode);
      expect(put.headers['content-type']).toContain('application/problem+json');
      expect(dry.statusCode).toBeGreaterThanOrEqual(500);
      expect(dry.headers['content-type']).toContain('application/problem+json');
      const versions = await h.db.pool.query(
        'select count(*)::int as n from workflow_versions where workflow_id = $1',
        [wfId],
      );
      expect(versions.rows[0].n).toBe(1);
      // ACT 2: back
      await proxy.resume();
      await expect
        .poll(
          async () => (await p.request('PUT', `/api/workflows/${wfId}/retry`, { body })).statusCode,
          { timeout: 15_000, interval: 200 },
        )
        .toBe(200);
      expect((await p.request('POST', `/api/executions/${id}/test-retry`)).statusCode).toBe(200);
    } finally {
      await proxy.cut().catch(() => undefined);
      await p.close();
    }
  }, 60_000);
});
