import { describe, expect, it } from 'vitest';
import { useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

// Only the test server of the suite is used here (executors run in-process).
const e2e = useChildExecutorSuite('prio', process.env);

async function startedAt(h: ExecutorHarness, ids: readonly string[]): Promise<Map<string, number>> {
  const res = await h.db.pool.query<{ id: string; started_at: Date | null }>(
    'select id, started_at from executions where id = any($1)',
    [ids],
  );
  return new Map(res.rows.map((r) => [r.id, r.started_at?.getTime() ?? Infinity]));
}

describe('priorities', () => {
  it(
    'starts a high job next, ahead of 30 waiting low jobs, when every slot is busy',
    { timeout: 60_000 },
    async () => {
      const h = await createExecutorHarness({ EXECUTOR_CONCURRENCY: '1' });
      try {
        const slow = await h.createWorkflow({
          name: 'slow',
          nodes: [n.http('s', `${e2e.srv.url}/slow?ms=3000`)],
        });
        const quick = await h.createWorkflow({ name: 'quick', nodes: [n.transform('a', '1')] });
        // ARRANGE: the one slot is busy; 30 low jobs wait, then 1 high arrives
        await h.startExecutor();
        const busy = await h.start(slow);
        await h.waitFor(busy, ['running'], 10_000);
        const lows: string[] = [];
        for (let i = 0; i < 30; i++) lows.push(await h.start(quick, {}, { priority: 'low' }));
        const high = await h.start(quick, {}, { priority: 'high' });
        // the slot was still busy when the high job arrived: nothing else started meanwhile
        expect((await h.get(busy)).status).toBe('running');
        expect([...(await startedAt(h, lows)).values()].every((t) => t === Infinity)).toBe(true);
        // ACT: everything runs
        await Promise.all([...lows, high].map((id) => h.waitFor(id, ['success'], 30_000)));
        // ASSERT: the high one started before every low one
        const starts = await startedAt(h, [...lows, high]);
        const highStart = starts.get(high) ?? Infinity;
        for (const id of lows) expect(starts.get(id)).toBeGreaterThan(highStart);
      } finally {
        await h.close();
      }
    },
  );

  it(
    'starts a low job within the aging bound while high jobs keep every slot busy',
    { timeout: 60_000 },
    async () => {
      const agingMs = 1_000;
      const h = await createExecutorHarness({
        EXECUTOR_CONCURRENCY: '1',
        EXECUTOR_PRIORITY_AGING_MS: String(agingMs),
      });
      try {
        const step = await h.createWorkflow({
          name: 'step',
          nodes: [n.http('s', `${e2e.srv.url}/slow?ms=150`)],
        });
        await h.startExecutor();
        // ARRANGE: a backlog of high jobs, kept topped up for the whole test
        const highs: string[] = [];
        for (let i = 0; i < 5; i++) highs.push(await h.start(step, {}, { priority: 'high' }));
        const low = await h.start(step, {}, { priority: 'low' });
        const lowQueuedAt = Date.now();
        let feeding = true;
        const feeder = (async () => {
          while (feeding) {
            const waiting = await h.queue.queue.getCountsPerPriority([1]);
            if ((waiting['1'] ?? 0) < 3) highs.push(await h.start(step, {}, { priority: 'high' }));
            await new Promise((r) => setTimeout(r, 40));
          }
        })();
        // ACT
        const done = await h.waitFor(low, ['success'], 20_000);
        feeding = false;
        await feeder;
        // ASSERT: it started within aging + one aging pass (250 ms) + one running job (~150 ms)
        // + slack, although high jobs never stopped waiting
        const lowStart = done.startedAt?.getTime() ?? Infinity;
        expect(lowStart - lowQueuedAt).toBeGreaterThanOrEqual(agingMs - 50);
        expect(lowStart - lowQueuedAt).toBeLessThan(agingMs + 1_500);
        const starts = await startedAt(h, highs);
        const laterHighs = highs.filter((id) => (starts.get(id) ?? Infinity) > lowStart);
        expect(laterHighs.length).toBeGreaterThan(0);
      } finally {
        await h.close();
      }
    },
  );
});
