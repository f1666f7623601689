import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { spawnExecutor, stopExecutor } from '../testing/executor-process.ts';
import { createApiHarness, type ApiHarness } from '../testing/api-harness.ts';

// test-retry over node runs a real executor (child process) wrote: a node retried under
// the workflow's settings.retry until RETRY_EXHAUSTED, and a 404 its own policy never retried.

let h: ApiHarness;
let target: TestServer;
let executor: ChildProcess;

beforeAll(async () => {
  h = await createApiHarness();
  target = await startTestServer();
  executor = spawnExecutor(h.queue.name, 'test-retry', process.env);
});
afterAll(async () => {
  await stopExecutor(executor);
  await target.close();
  await h.close();
});

async function footprint() {
  const rows = await h.db.pool.query(
    `select (select count(*)::int from executions where tenant_id = $1) as executions,
            (select count(*)::int from node_runs n join executions e on e.id = n.execution_id
               where e.tenant_id = $1) as node_runs,
            (select count(*)::int from execution_transitions t join executions e
               on e.id = t.execution_id where e.tenant_id = $1) as transitions,
            (select count(*)::int from execution_logs l join executions e
               on e.id = l.execution_id where e.tenant_id = $1) as logs`,
    [h.tenantId],
  );
  return { ...rows.rows[0], jobs: await h.queue.queue.getJobCounts() };
}

describe('test-retry after a real run', () => {
  it('reports what the executor did under settings.retry and a node policy, and starts nothing', async () => {
    const definition = {
      name: 'real-failures',
      nodes: [
        {
          id: 'down',
          type: 'http',
          config: { method: 'GET', url: `${target.url}/flaky/d?fails=99` },
        },
        {
          id: 'gone',
          type: 'http',
          config: { method: 'GET', url: `${target.url}/status/404` },
          retry: { max_attempts: 3, backoff: 'exponential', initial_delay_ms: 10 },
        },
        { id: 'ok', type: 'transform', config: { expression: '1' } },
      ],
      settings: {
        fail_fast: false,
        retry: { max_attempts: 2, backoff: 'fixed', initial_delay_ms: 20, max_delay_ms: 50 },
      },
    };
    const wf = await h.request('POST', '/api/workflows', { body: definition });
    const started = await h.request('POST', '/api/executions', {
      body: { workflow_id: wf.json<{ id: string }>().id },
    });
    const id = started.json<{ id: string }>().id;
    await expect
      .poll(async () => (await h.request('GET', `/api/executions/${id}`)).json().status, {
        // The executor child process may still be starting on a loaded machine.
        timeout: 45_000,
        interval: 100,
      })
      .toBe('failed');
    const before = await footprint();
    // ACT
    const res = await h.request('POST', `/api/executions/${id}/test-retry`);
    // ASSERT
    expect(res.statusCode).toBe(200);
    const nodes = res.json<{ nodes: { node_id: string }[] }>().nodes;
    const byNode = Object.fromEntries(nodes.map((n) => [n.node_id, n]));
    expect(Object.keys(byNode).sort()).toEqual(['down', 'gone']);
    // The executor retried `down` under the workflow default: 2 attempts, then gave up.
    expect(target.counts.get('flaky/d')).toBe(2);
    expect(byNode['down']).toMatchObject({
      type: 'http',
      error: { type: 'RETRY_EXHAUSTED' },
      retryable: true,
      policy: { strategy: 'fixed', max_attempts: 2, initial_delay_ms: 20, max_delay_ms: 50 },
      attempts_made: 2,
      delays_ms: [],
    });
    expect(byNode['gone']).toMatchObject({
      error: { type: 'EXECUTION', message: expect.stringContaining('HTTP 404') },
      retryable: false,
      policy: { strategy: 'exponential', max_attempts: 3, initial_delay_ms: 10 },
      attempts_made: 1,
      delays_ms: [],
    });
    expect(await footprint()).toEqual(before);
    expect(target.counts.get('flaky/d')).toBe(2);
  }, 60_000);
});
