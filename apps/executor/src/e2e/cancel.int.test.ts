import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishControl } from '@linkflow/queue';
import { createExecutionRepository } from '@linkflow/store';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

let h: ExecutorHarness;
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
  h = await createExecutorHarness();
  await h.startExecutor();
});
afterAll(async () => {
  await h.close();
  await srv.close();
});

async function untilRunning(id: string, path: string): Promise<void> {
  await expect
    .poll(() => srv.calls.some((c) => c.path.includes(path)), { timeout: 10_000, interval: 20 })
    .toBe(true);
  await h.waitFor(id, ['running']);
}

/** What the API does on cancel: fenced status change in Postgres, then the Redis signal. */
async function cancelLikeTheApi(id: string) {
  const outcome = await createExecutionRepository({ pool: h.db.pool }).cancel(
    h.tenantId,
    id,
    new Date(),
    'cancelled by request',
  );
  await publishControl(h.redis, { execution_id: id, action: 'cancel' });
  return outcome;
}

describe('cancel', () => {
  it('aborts an in-flight HTTP node within 1 s; dependants never start', async () => {
    //  hang --> after
    const wf = await h.createWorkflow({
      name: 'c',
      nodes: [n.http('hang', `${srv.url}/hang?k={{ execution.id }}`), n.transform('after', '1')],
      edges: [{ from: 'hang', to: 'after' }],
    });
    const id = await h.start(wf);
    await untilRunning(id, `/hang?k=${id}`);
    const t0 = Date.now();
    expect(await cancelLikeTheApi(id)).toEqual({ outcome: 'changed', from: 'running' });
    const closedBefore = srv.hangClosedAt.length;
    await expect
      .poll(() => srv.hangClosedAt.length, { timeout: 5_000, interval: 20 })
      .toBeGreaterThan(closedBefore);
    expect((srv.hangClosedAt.at(-1) ?? Infinity) - t0).toBeLessThan(1000);
    const e = await h.waitFor(id, ['cancelled']);
    const runs = async () =>
      Object.fromEntries((await h.get(id)).nodeRuns.map((r) => [r.nodeId, r.status]));
    await expect
      .poll(runs, { timeout: 5_000, interval: 20 })
      .toEqual({ hang: 'cancelled', after: 'cancelled' });
    expect(e.transitions.map((t) => t.to)).toEqual(['pending', 'running', 'cancelled']);
  });

  it('cancelling twice is harmless: the second is refused as terminal', async () => {
    const wf = await h.createWorkflow({
      name: 'c2',
      nodes: [n.http('hang', `${srv.url}/hang?k={{ execution.id }}`)],
    });
    const id = await h.start(wf);
    await untilRunning(id, `/hang?k=${id}`);
    await cancelLikeTheApi(id);
    expect(await cancelLikeTheApi(id)).toEqual({ outcome: 'terminal', status: 'cancelled' });
    expect((await h.waitFor(id, ['cancelled'])).status).toBe('cancelled');
  });

  it('applies a lowered timeout to a running execution', async () => {
    const wf = await h.createWorkflow({
      name: 't',
      nodes: [n.http('hang', `${srv.url}/hang?k={{ execution.id }}`)],
    });
    const id = await h.start(wf);
    await untilRunning(id, `/hang?k=${id}`);
    await createExecutionRepository({ pool: h.db.pool }).setTimeout(h.tenantId, id, 1);
    await publishControl(h.redis, { execution_id: id, action: 'timeout' });
    const e = await h.waitFor(id);
    expect(e.status).toBe('failed');
    expect(e.error?.type).toBe('TIMEOUT');
  });

  it('fails a pending execution whose timeout passed before a worker took it', async () => {
    const wf = await h.createWorkflow({ name: 'p', nodes: [n.transform('a', '1')] });
    const id = await h.start(wf, {}, { timeoutSeconds: 1, enqueue: false });
    await h.db.pool.query(
      `update executions set created_at = now() - interval '5 seconds' where id = $1`,
      [id],
    );
    await h.queue.enqueue({ executionId: id, tenantId: h.tenantId, priority: 'normal' });
    const e = await h.waitFor(id);
    expect(e.status).toBe('failed');
    expect(e.error?.type).toBe('TIMEOUT');
    expect(e.nodeRuns.map((r) => [r.nodeId, r.status])).toEqual([['a', 'cancelled']]);
  });
});
