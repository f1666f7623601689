import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { spawnExecutor, stopExecutor } from '../testing/executor-process.ts';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

// Checkpoints and recover through the API, with a real executor (child process) on the
// harness's queue: a failed execution resumes from its checkpoints and reruns only its
// failed node and what depends on it.

let h: ApiHarness;
let target: TestServer;
let executor: ChildProcess;

beforeAll(async () => {
  h = await createApiHarness();
  target = await startTestServer();
  executor = spawnExecutor(h.queue.name, 'recovery-test', process.env);
});
afterAll(async () => {
  await stopExecutor(executor);
  await target.close();
  await h.close();
});

interface NodeRunView {
  node_id: string;
  status: string;
  attempts: number;
  finished_at: string | null;
}
interface ExecutionView {
  id: string;
  status: string;
  node_runs: NodeRunView[];
  transitions: { from: string | null; to: string; reason: string }[];
}

async function createWorkflow(definition: unknown): Promise<string> {
  const res = await h.request('POST', '/api/workflows', { body: definition });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string }>().id;
}

async function startAndWait(workflowId: string, statuses: string[]): Promise<ExecutionView> {
  const id = (
    await h.request('POST', '/api/executions', { body: { workflow_id: workflowId } })
  ).json<{ id: string }>().id;
  return waitFor(id, statuses);
}

async function waitFor(id: string, statuses: string[]): Promise<ExecutionView> {
  let view: ExecutionView | undefined;
  await expect
    .poll(
      async () => {
        view = (await h.request('GET', `/api/executions/${id}`)).json<ExecutionView>();
        return statuses.includes(view.status);
      },
      { timeout: 20_000, interval: 100 },
    )
    .toBe(true);
  return view as ExecutionView;
}

/** fetch fails once (503, not retried), then answers 200; `use` depends on it. */
function flakyWorkflow(key: string) {
  return {
    name: `recover-${key}`,
    nodes: [
      { id: 'first', type: 'transform', config: { expression: '1' } },
      {
        id: 'fetch',
        type: 'http',
        config: { method: 'GET', url: `${target.url}/flaky/${key}?fails=1` },
        retry: { max_attempts: 1 },
      },
      { id: 'use', type: 'transform', config: { expression: 'nodes.fetch.body.n' } },
    ],
    edges: [
      { from: 'first', to: 'fetch' },
      { from: 'fetch', to: 'use' },
    ],
  };
}

const byNode = (e: ExecutionView) => Object.fromEntries(e.node_runs.map((n) => [n.node_id, n]));

describe('checkpoints and recover', () => {
  it('lists the settled nodes of a failed run, and recovers it rerunning only the failed part', async () => {
    const workflowId = await createWorkflow(flakyWorkflow('a'));
    const failed = await startAndWait(workflowId, ['failed', 'success']);
    expect(failed.status).toBe('failed');
    const firstBefore = byNode(failed)['first'];
    // checkpoints: GET and POST answer the durable state
    const cps = await h.request('GET', `/api/executions/${failed.id}/checkpoints`);
    expect(cps.statusCode).toBe(200);
    const body = cps.json<{ execution_id: string; checkpoints: { node_id: string }[] }>();
    expect(body.execution_id).toBe(failed.id);
    expect(Object.fromEntries(body.checkpoints.map((c) => [c.node_id, c]))).toMatchObject({
      first: { status: 'success', attempts: 1, type: 'transform' },
      fetch: { status: 'failed', attempts: 1, type: 'http' },
    });
    const now = await h.request('POST', `/api/executions/${failed.id}/checkpoint`);
    expect(now.statusCode).toBe(200);
    expect(now.json<{ checkpoints: unknown[] }>().checkpoints).toEqual(body.checkpoints);
    // ACT: recover
    const res = await h.request('POST', `/api/executions/${failed.id}/recover`);
    expect(res.statusCode).toBe(202);
    expect(res.json<ExecutionView>().status).toMatch(/pending|running|success/);
    const done = await waitFor(failed.id, ['success', 'failed']);
    // ASSERT: success; `first` was not run again; fetch ran twice in all
    expect(done.status).toBe('success');
    expect(byNode(done)['first']).toEqual(firstBefore);
    expect(byNode(done)['use']).toMatchObject({ status: 'success' });
    expect(target.counts.get('flaky/a')).toBe(2);
    expect(done.transitions.map((t) => `${t.from}>${t.to}`)).toEqual([
      'null>pending',
      'pending>running',
      'running>failed',
      'failed>pending',
      'pending>running',
      'running>success',
    ]);
    expect(done.transitions[3]?.reason).toBe('recovered by request');
  });

  it('refuses with 409 a succeeded, cancelled, pending or live running execution', async () => {
    const workflowId = await createWorkflow(sampleWorkflow('recover-409'));
    const ok = await startAndWait(workflowId, ['success']);
    const pending = (
      await h.request('POST', '/api/executions', { body: { workflow_id: workflowId } })
    ).json<{ id: string }>().id;
    // Held as running by a live lease (another worker), and one whose holder is long gone.
    await h.db.pool.query(
      `update executions set status = 'running', lease_owner = 'elsewhere',
         lease_expires_at = now() + interval '1 hour' where id = $1`,
      [pending],
    );
    const refused = async (id: string) => {
      const res = await h.request('POST', `/api/executions/${id}/recover`);
      expect(res.headers['content-type']).toContain('application/problem+json');
      return res.statusCode;
    };
    expect(await refused(ok.id)).toBe(409);
    expect(await refused(pending)).toBe(409);
    const another = (
      await h.request('POST', '/api/executions', { body: { workflow_id: workflowId } })
    ).json<{ id: string }>().id;
    await h.request('POST', `/api/executions/${another}/cancel`);
    expect(await refused(another)).toBe(409);
  });

  it('removes the dead-letter entry of an execution it recovers', async () => {
    const workflowId = await createWorkflow(flakyWorkflow('dlq'));
    const failed = await startAndWait(workflowId, ['failed']);
    await h.dlq.add(failed.id, 'stalled too often');
    const other = await startAndWait(await createWorkflow(flakyWorkflow('dlq-other')), ['failed']);
    await h.dlq.add(other.id, 'stalled too often');
    expect(await h.dlq.size()).toBe(2);
    // ACT
    const res = await h.request('POST', `/api/executions/${failed.id}/recover`);
    // ASSERT: its entry is gone (the DLQ size no longer counts it), the other one stays
    expect(res.statusCode).toBe(202);
    expect(await h.dlq.queue.getJob(failed.id)).toBeUndefined();
    expect(await h.dlq.size()).toBe(1);
    expect((await waitFor(failed.id, ['success', 'failed'])).status).toBe('success');
  });

  it('refuses with 409 a failed execution whose node runs retention purged', async () => {
    const workflowId = await createWorkflow(flakyWorkflow('purged'));
    const failed = await startAndWait(workflowId, ['failed']);
    // What a retention batch does (the real one would purge other files' executions too).
    await h.db.pool.query('delete from node_runs where execution_id = $1', [failed.id]);
    await h.db.pool.query('update executions set purged_at = now() where id = $1', [failed.id]);
    // ACT
    const res = await h.request('POST', `/api/executions/${failed.id}/recover`);
    // ASSERT: nothing to resume from: every node would run again, side effects included
    expect(res.statusCode).toBe(409);
    expect(res.json<{ detail: string }>().detail).toContain('purged');
    const after = (await h.request('GET', `/api/executions/${failed.id}`)).json<ExecutionView>();
    expect(after.status).toBe('failed');
    expect(target.counts.get('flaky/purged')).toBe(1);
  });

  it('recovers a running execution whose lease expired: pending again, then run', async () => {
    const workflowId = await createWorkflow(sampleWorkflow('recover-stuck'));
    const id = (
      await h.request('POST', '/api/executions', {
        body: { workflow_id: workflowId, input_data: { total: 80 } },
      })
    ).json<{ id: string }>().id;
    await waitFor(id, ['success']);
    // Simulate an abandoned run: running, lease expired, job gone.
    await h.db.pool.query(
      `update executions set status = 'running', output = null, finished_at = null,
         lease_owner = 'dead', lease_expires_at = now() - interval '1 minute' where id = $1`,
      [id],
    );
    const res = await h.request('POST', `/api/executions/${id}/recover`);
    expect(res.statusCode).toBe(202);
    const done = await waitFor(id, ['success']);
    expect(done.transitions.at(-3)).toMatchObject({ from: 'running', to: 'pending' });
  });

  it('answers 404 for another tenant, 403 without the scope, 401 without a key', async () => {
    const workflowId = await createWorkflow(sampleWorkflow('recover-auth'));
    const id = (
      await h.request('POST', '/api/executions', { body: { workflow_id: workflowId } })
    ).json<{ id: string }>().id;
    const stranger = await h.keyFor(['admin'], await h.newTenant());
    const reader = await h.keyFor(['executions:read']);
    const path = `/api/executions/${id}`;
    expect((await h.request('POST', `${path}/recover`, { key: stranger })).statusCode).toBe(404);
    expect((await h.request('GET', `${path}/checkpoints`, { key: stranger })).statusCode).toBe(404);
    expect((await h.request('POST', `${path}/checkpoint`, { key: stranger })).statusCode).toBe(404);
    expect((await h.request('POST', `${path}/recover`, { key: reader })).statusCode).toBe(403);
    expect((await h.request('GET', `${path}/checkpoints`, { key: reader })).statusCode).toBe(200);
    expect((await h.request('POST', `${path}/recover`, { key: null })).statusCode).toBe(401);
  });
});
