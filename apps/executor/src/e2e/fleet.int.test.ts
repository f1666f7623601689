import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

// Two executor processes share one queue; one is killed (SIGKILL) mid-run. Nothing is lost,
// both took a fair share, and no node that was checkpointed ran again.

const suite = useChildExecutorSuite('fleet', process.env);
let h: ExecutorHarness;
beforeAll(async () => {
  h = await createExecutorHarness();
});
afterAll(async () => h.close());

const TOTAL = 200;

/** How many of `ids` each worker claimed first (`picked up by <worker>` transitions). */
async function firstClaims(ids: string[]): Promise<Map<string, number>> {
  const res = await h.db.pool.query<{ reason: string; n: number }>(
    `select reason, count(*)::int as n from (
       select distinct on (execution_id) execution_id, reason from execution_transitions
       where execution_id = any($1) and to_status = 'running' order by execution_id, id) t
     group by reason`,
    [ids],
  );
  return new Map(res.rows.map((r) => [r.reason.replace('picked up by ', ''), r.n]));
}

async function succeeded(ids: string[]): Promise<number> {
  const res = await h.db.pool.query<{ n: number }>(
    `select count(*)::int as n from executions where id = any($1) and status = 'success'`,
    [ids],
  );
  return res.rows[0]?.n ?? 0;
}

describe('several executors', () => {
  it(
    'share 200 executions, and lose none when one is killed mid-run',
    { timeout: 120_000 },
    async () => {
      //  c1 -> slow -> c2     (c1, c2 count their calls per execution)
      const count = (id: string) => n.http(id, `${suite.srv.url}/count/{{ execution.id }}-${id}`);
      const wf = await h.createWorkflow({
        name: 'fleet',
        nodes: [count('c1'), n.http('slow', `${suite.srv.url}/slow?ms=50`), count('c2')],
        edges: [
          { from: 'c1', to: 'slow' },
          { from: 'slow', to: 'c2' },
        ],
      });
      const doomed = suite.executors.spawn(h);
      suite.executors.spawn(h);
      // Both registered (consuming) before any job exists, so neither gets a head start.
      const registered = () =>
        h.redis.exists(
          ...['fleet-0', 'fleet-1'].map((id) => `linkflow:${h.queueName}:worker:${id}`),
        );
      await expect.poll(registered, { timeout: 30_000, interval: 100 }).toBe(2);
      const ids: string[] = [];
      for (let i = 0; i < TOTAL; i++) ids.push(await h.start(wf, {}, { enqueue: true }));
      // ARRANGE: both work the queue until each has taken at least 30 % of the executions
      const shares = async () => [...(await firstClaims(ids)).values()];
      await expect
        .poll(async () => (await shares()).filter((n) => n >= TOTAL * 0.3).length, {
          timeout: 60_000,
          interval: 50,
        })
        .toBe(2);
      // ACT: kill -9 one of them mid-run; remember what was checkpointed at that moment
      doomed.kill('SIGKILL');
      const snapshot = await h.db.pool.query<{ execution_id: string; node_id: string }>(
        `select execution_id, node_id from node_runs
         where execution_id = any($1) and status = 'success' and node_id in ('c1', 'c2')`,
        [ids],
      );
      // ASSERT: every execution succeeds; checkpointed nodes were called exactly once
      await expect.poll(() => succeeded(ids), { timeout: 60_000, interval: 200 }).toBe(TOTAL);
      for (const row of snapshot.rows)
        expect(suite.srv.counts.get(`count/${row.execution_id}-${row.node_id}`)).toBe(1);
      // each executor took at least 30 % of the executions first
      const claims = await firstClaims(ids);
      expect([...claims.keys()].sort()).toEqual(['fleet-0', 'fleet-1']);
      for (const share of claims.values()) expect(share).toBeGreaterThanOrEqual(TOTAL * 0.3);
      // it was killed mid-run: not everything had finished when it died
      expect(snapshot.rows.filter((r) => r.node_id === 'c2').length).toBeLessThan(TOTAL);
    },
  );
});
