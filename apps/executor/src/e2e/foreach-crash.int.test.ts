import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

const e2e = useChildExecutorSuite('foreach-crash', process.env);
let h: ExecutorHarness;

beforeAll(async () => {
  h = await createExecutorHarness();
});
afterAll(async () => {
  await e2e.executors.killAll();
  await h.close();
});

describe('foreach crash recovery', () => {
  it(
    'resumes after kill -9 mid-loop without repeating finished iterations',
    { timeout: 60_000 },
    async () => {
      //  each (foreach over 8 items, sequential): body [hit --> pause]
      //  hit counts calls per item; pause is a slow step, so the kill lands mid-loop
      const items = Array.from({ length: 8 }, (_, i) => i);
      const wf = await h.createWorkflow({
        name: 'foreach-crash',
        nodes: [
          { id: 'each', type: 'foreach', config: { items: 'input.items', body: ['hit', 'pause'] } },
          n.http('hit', `${e2e.srv.url}/count/{{ execution.id }}-{{ index }}`),
          n.http('pause', `${e2e.srv.url}/slow?ms=300`),
        ],
        edges: [{ from: 'hit', to: 'pause' }],
      });
      const id = await h.start(wf, { items });
      const first = e2e.executors.spawn(h);
      // ARRANGE: wait until two iterations have finished (their sink checkpointed)
      const finishedIterations = async () =>
        (
          await h.db.pool.query<{ iteration: number }>(
            `select iteration from node_runs where execution_id = $1 and node_id = 'pause' and status = 'success'`,
            [id],
          )
        ).rows.map((r) => r.iteration);
      await expect
        .poll(async () => (await finishedIterations()).length, { timeout: 20_000, interval: 25 })
        .toBeGreaterThanOrEqual(2);
      // ACT: kill -9 mid-loop, remember the finished iterations, start a new executor
      first.kill('SIGKILL');
      const finished = await finishedIterations();
      expect(finished.length).toBeLessThan(items.length);
      e2e.executors.spawn(h);
      // ASSERT: the execution finishes; finished iterations' calls happened exactly once
      const done = await h.waitFor(id, ['success', 'failed'], 45_000);
      expect(done.status).toBe('success');
      expect(done.attempt).toBeGreaterThanOrEqual(2);
      for (const i of finished) expect(e2e.srv.counts.get(`count/${id}-${i}`)).toBe(1);
      for (const i of items)
        expect(e2e.srv.counts.get(`count/${id}-${i}`)).toBeGreaterThanOrEqual(1);
      const each = done.nodeRuns.find((r) => r.nodeId === 'each');
      expect(each?.status).toBe('success');
      expect(each?.output).toHaveLength(items.length);
      const hits = done.nodeRuns.filter((r) => r.nodeId === 'hit').map((r) => r.iteration);
      expect(hits.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(items);
    },
  );
});
