import { describe, expect, it } from 'vitest';
import { killed, useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n } from '../testing/executor-harness.ts';

/*
 * Deterministic prices: every node run costs exactly 0.001 USD and nothing else is charged.
 *
 *   c1 -> s1 (slow, 1.5 s) -> c2        uninterrupted: 3 node runs = 0.00300000
 *
 * The executor is killed while s1 is in flight. The attempt it was running dies with it (its
 * usage was never recorded, so it is not charged); the resumed run charges s1's rerun once and
 * never re-charges c1, so the total equals the uninterrupted one.
 */
const e2e = useChildExecutorSuite('cost', process.env);
const PER_RUN_ONLY = JSON.stringify({
  ...{ per_node_run: 0.001, per_wall_ms: 0, per_cpu_ms: 0, per_gb_ms_memory: 0 },
  ...{ per_net_byte: 0, per_row: 0, per_query_ms: 0, per_byte_stored: 0 },
});

describe('cost across an executor crash', () => {
  it(
    'charges a killed and resumed run the uninterrupted total: finished nodes once, the interrupted node for its rerun',
    { timeout: 120_000 },
    async () => {
      const h = await createExecutorHarness({ LINKFLOW_RATE_CARD: PER_RUN_ONLY });
      try {
        const wf = await h.createWorkflow({
          name: 'cost-crash',
          nodes: [
            n.http('c1', `${e2e.srv.url}/count/{{ execution.id }}-c1`),
            n.http('s1', `${e2e.srv.url}/slow?ms=1500`),
            n.http('c2', `${e2e.srv.url}/count/{{ execution.id }}-c2`),
          ],
          edges: [
            { from: 'c1', to: 's1' },
            { from: 's1', to: 'c2' },
          ],
        });
        const first = e2e.executors.spawn(h);
        const baseline = await h.waitFor(await h.start(wf), ['success', 'failed'], 30_000);
        expect(baseline.status).toBe('success');
        expect(baseline.costTotal).toBe('0.00300000');

        // ARRANGE: executions whose c1 is checkpointed and whose s1 is in flight
        const ids = await Promise.all([1, 2, 3].map(() => h.start(wf)));
        const inFlight = async () =>
          (
            await h.db.pool.query<{ n: number }>(
              `select count(*)::int as n from node_runs where execution_id = any($1) and node_id = 's1' and status = 'running'`,
              [ids],
            )
          ).rows[0]?.n;
        await expect.poll(inFlight, { timeout: 20_000, interval: 25 }).toBe(ids.length);
        // The checkpoint of c1 already wrote the running execution's total.
        for (const id of ids) expect((await h.get(id)).costTotal).toBe('0.00100000');

        // ACT: kill -9 while s1 runs, then a new executor resumes
        await killed(first);
        e2e.executors.spawn(h);
        const done = await Promise.all(
          ids.map((id) => h.waitFor(id, ['success', 'failed'], 60_000)),
        );

        // ASSERT: same total as uninterrupted, c1 neither rerun nor re-charged
        for (const e of done) {
          expect(e.status).toBe('success');
          expect(e.attempt).toBeGreaterThanOrEqual(2);
          expect(e.costTotal).toBe(baseline.costTotal);
          const cost = Object.fromEntries(e.nodeRuns.map((r) => [r.nodeId, r.cost]));
          expect(cost).toEqual({ c1: '0.00100000', s1: '0.00100000', c2: '0.00100000' });
          expect(e2e.srv.counts.get(`count/${e.id}-c1`)).toBe(1);
        }
      } finally {
        await h.close();
      }
    },
  );
});
