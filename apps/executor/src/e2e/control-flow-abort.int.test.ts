import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishControl } from '@linkflow/queue';
import { createExecutionRepository } from '@linkflow/store';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

// Hostile-review probes: a cancel and an execution timeout in the middle of a parallel foreach
// whose iterations hang in a try. Nothing may be left `running`, and the try's finally must not
// run after the execution ended.

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

/** each (foreach, parallel 3): body [guard: try [hang] finally [fin]] ; each --> after */
const hangingLoop = (key: string, timeout_ms?: number) =>
  h.createWorkflow({
    name: `abort-${key}`,
    nodes: [
      {
        id: 'each',
        type: 'foreach',
        config: { items: 'input.list', body: ['guard'], parallel: true, max_parallel: 3 },
      },
      { id: 'guard', type: 'try', config: { try: ['hang'], finally: ['fin'] } },
      n.http('hang', `${srv.url}/hang?k={{ execution.id }}-{{ index }}`),
      n.http('fin', `${srv.url}/count/fin-{{ execution.id }}`),
      n.transform('after', '1'),
    ],
    edges: [{ from: 'each', to: 'after' }],
    ...(timeout_ms ? { settings: { timeout_ms } } : {}),
  });

async function untilHanging(id: string, count: number): Promise<void> {
  await expect
    .poll(() => srv.calls.filter((c) => c.path.includes(`/hang?k=${id}`)).length, {
      timeout: 10_000,
      interval: 20,
    })
    .toBeGreaterThanOrEqual(count);
}

const statuses = async (id: string) =>
  (await h.get(id)).nodeRuns.map((r) => `${r.nodeId}@${r.iteration ?? '-'}:${r.status}`).sort();

describe('abort in the middle of a parallel foreach', () => {
  it('cancel: every node run ends, none is left running, finally does not run', async () => {
    const id = await h.start(await hangingLoop('cancel'), { list: [1, 2, 3, 4, 5, 6] });
    await untilHanging(id, 3);
    await createExecutionRepository({ pool: h.db.pool }).cancel(h.tenantId, id, new Date(), 'stop');
    await publishControl(h.redis, { execution_id: id, action: 'cancel' });
    await h.waitFor(id, ['cancelled']);
    // node runs settle right after the status (the cancel marks only running rows)
    const ended = ['after@-', 'each@-', ...[0, 1, 2].flatMap((i) => [`guard@${i}`, `hang@${i}`])];
    await expect
      .poll(() => statuses(id), { timeout: 5_000, interval: 50 })
      .toEqual(ended.map((r) => `${r}:cancelled`).sort());
    expect(srv.counts.get(`fin-${id}`) ?? 0).toBe(0);
  });

  it('execution timeout: the execution fails with TIMEOUT and nothing is left running', async () => {
    const id = await h.start(await hangingLoop('timeout', 1500), { list: [1, 2, 3, 4] });
    await untilHanging(id, 3);
    const done = await h.waitFor(id, ['failed', 'cancelled', 'success'], 15_000);
    expect(done.status).toBe('failed');
    expect(done.error?.type).toBe('TIMEOUT');
    await expect
      .poll(async () => (await statuses(id)).filter((s) => s.endsWith(':running')), {
        timeout: 5_000,
        interval: 50,
      })
      .toEqual([]);
    expect((await statuses(id)).filter((s) => s.startsWith('hang@')).length).toBe(3);
  });
});
