import { describe, expect, it } from 'vitest';
import {
  createConditionNode,
  createForeachNode,
  createNodeRegistry,
  createReturnNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import { fakeNodeType } from '../testing/node-runner-fakes.ts';
import { useStoreFixture } from '../testing/store-fixture.ts';
import { CompiledWorkflowCache, processExecution } from './execution-processor.ts';

// A loop's lane runs ahead of its last write; a `return` in the next iteration must not be
// checkpointed while that write can still fail, or a resume would end the execution
// `success` with the earlier iteration never recorded. On real Postgres: the earlier write's
// statement is made to fail (it blocks on a lock and is cancelled, which is not retried).

const ran: string[] = [];
let gate: Promise<void> = Promise.resolve();
const work = fakeNodeType('http', async (_ctx, _config, input) => {
  ran.push(String(input.item));
  if (input.item === 'a') await gate;
  return { output: { done: input.item }, usage: {} };
});
const registry = createNodeRegistry([
  createConditionNode(),
  createReturnNode(),
  createForeachNode(),
  work,
] as NodeDefinition<never>[]);
const store = useStoreFixture({ maxConnections: 6 });

//   each (["a", "stop"], one at a time): body check → stop (return, when true) | work (when false)
const definition = {
  name: 'return-after-lost-write',
  nodes: [
    {
      id: 'each',
      type: 'foreach',
      config: { items: '["a","stop"]', body: ['check', 'stop', 'work'] },
    },
    { id: 'check', type: 'condition', config: { expression: "item = 'stop'" } },
    { id: 'stop', type: 'return', config: { value: 'stopped' } },
    { id: 'work', type: 'http', config: {} },
  ],
  edges: [
    { from: 'check', to: 'stop', when: 'true' },
    { from: 'check', to: 'work', when: 'false' },
  ],
};

/** Cancels the checkpoint statements that wait on a lock until `done()` says stop. */
async function cancelBlockedCheckpoints(done: () => boolean): Promise<void> {
  while (!done()) {
    await store.db.pool.query(`select pg_cancel_backend(pid) from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'
        and query like '%json_to_recordset%'`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a return in a loop after an earlier iteration whose write failed', () => {
  it('is not checkpointed: the retried run reruns the earlier iteration and ends success', async () => {
    // ARRANGE: work ran for "a"; an open transaction holds the key of its node run
    const id = await store.newExecution(definition);
    let open: () => void = () => undefined;
    gate = new Promise((resolve) => (open = resolve));
    const first = processExecution(
      store.processorDeps({ registry, workerId: 'first' }),
      id,
      new CompiledWorkflowCache(),
    ).then(
      () => undefined,
      (err: unknown) => err,
    );
    await expect.poll(() => ran.length).toBe(1);
    const blocker = await store.db.pool.connect();
    await blocker.query('begin');
    await blocker.query(
      `insert into node_runs (execution_id, node_id, iteration, type, status, updated_at)
       values ($1, 'work', 0, 'http', 'pending', now())`,
      [id],
    );
    // ACT: work's write blocks and is cancelled while the lane runs iteration 1 (the return)
    open();
    let settled = false;
    void first.then(() => (settled = true));
    try {
      await cancelBlockedCheckpoints(() => settled);
    } finally {
      await blocker.query('rollback');
      blocker.release();
    }
    // ASSERT: the first attempt failed with nothing of the return written
    expect(await first).toBeInstanceOf(Error);
    const stop = await store.db.pool.query(
      `select status from node_runs where execution_id = $1 and node_id = 'stop' and iteration = 1`,
      [id],
    );
    expect(stop.rows.map((r: { status: string }) => r.status)).not.toContain('success');
    // ACT: the job's retry resumes
    await processExecution(
      store.processorDeps({ registry, workerId: 'second' }),
      id,
      new CompiledWorkflowCache(),
    );
    // ASSERT: work ran again for "a" and is recorded; the execution returned
    const { rows } = await store.db.pool.query<{ r: string }>(
      `select node_id || '#' || iteration || ':' || status as r from node_runs
       where execution_id = $1 order by 1`,
      [id],
    );
    const exec = await store.db.pool.query('select status, output from executions where id = $1', [
      id,
    ]);
    expect(exec.rows[0]).toMatchObject({ status: 'success' });
    expect(rows.map((x) => x.r)).toContain('work#0:success');
    expect(ran).toEqual(['a', 'a']);
  });
});
