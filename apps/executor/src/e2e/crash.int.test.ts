import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
let h: ExecutorHarness;
let srv: TestServer;
const children: ChildProcess[] = [];

function spawnExecutor(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...h.env, EXECUTOR_ID: `crash-${children.length}` },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  srv = await startTestServer();
  h = await createExecutorHarness();
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await h.close();
  await srv.close();
});

describe('crash recovery', () => {
  it(
    'resumes executions after kill -9 without re-running checkpointed nodes',
    { timeout: 60_000 },
    async () => {
      //  c1 -> s1 -> c2 -> s2 -> c3     (cN count calls per execution; sN are slow steps)
      const count = (id: string) => n.http(id, `${srv.url}/count/{{ execution.id }}-${id}`);
      const slow = (id: string) => n.http(id, `${srv.url}/slow?ms=400`);
      const wf = await h.createWorkflow({
        name: 'crash',
        nodes: [count('c1'), slow('s1'), count('c2'), slow('s2'), count('c3')],
        edges: [
          { from: 'c1', to: 's1' },
          { from: 's1', to: 'c2' },
          { from: 'c2', to: 's2' },
          { from: 's2', to: 'c3' },
        ],
      });
      const ids = await Promise.all(Array.from({ length: 6 }, () => h.start(wf)));
      const first = spawnExecutor();
      // ARRANGE: wait until every execution has checkpointed at least its first node
      const checkpointed = async () =>
        (
          await h.db.pool.query<{ n: number }>(
            `select count(distinct execution_id)::int as n from node_runs where execution_id = any($1) and node_id = 'c1' and status = 'success'`,
            [ids],
          )
        ).rows[0]?.n;
      await expect.poll(checkpointed, { timeout: 15_000, interval: 25 }).toBe(ids.length);
      // ACT: kill -9 mid-run, remember what was checkpointed, start a new executor
      first.kill('SIGKILL');
      const snapshot = await h.db.pool.query<{ execution_id: string; node_id: string }>(
        `select execution_id, node_id from node_runs where execution_id = any($1) and status = 'success'`,
        [ids],
      );
      expect(snapshot.rows.length).toBeGreaterThanOrEqual(ids.length);
      spawnExecutor();
      // ASSERT: all finish; checkpointed count nodes were called exactly once
      const finished = await Promise.all(
        ids.map((id) => h.waitFor(id, ['success', 'failed'], 45_000)),
      );
      expect(finished.map((e) => e.status)).toEqual(ids.map(() => 'success'));
      for (const row of snapshot.rows.filter((r) => r.node_id.startsWith('c'))) {
        expect(srv.counts.get(`count/${row.execution_id}-${row.node_id}`)).toBe(1);
      }
      // every execution was taken over by the second executor (the fencing token went up)
      expect(finished.map((e) => e.attempt >= 2)).toEqual(ids.map(() => true));
    },
  );
});
