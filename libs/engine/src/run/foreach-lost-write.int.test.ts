import { randomUUID } from 'node:crypto';
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

// A parallel loop's lane runs ahead of its last write; here that write fails, on real Postgres
// (a trigger holds its statement 300 ms, then raises an error no retry cures), while the lanes
// go on to a `return`. The attempt must fail with nothing of the return written, and the
// job's retry must rerun the lost iteration only and end `success` with every run recorded.
// (That a return never writes while such a write is unsettled is pinned by the unit test in
// foreach-commits.test.ts; here the batcher's order alone also keeps it out.)

const ran: string[] = [];
/** Holds work for "b" while it is closed (a node in flight when the run fails). */
let gate: Promise<void> = Promise.resolve();
const work = fakeNodeType('http', async (_ctx, _config, input) => {
  ran.push(String(input.item));
  if (input.item === 'b') await gate;
  return { output: { done: input.item }, usage: {} };
});
const registry = createNodeRegistry([
  createConditionNode(),
  createReturnNode(),
  createForeachNode(),
  work,
] as NodeDefinition<never>[]);
const store = useStoreFixture({ maxConnections: 6 });

//   each (items, two lanes): body check → stop (return, when true) | work (when false)
const loop = (items: string[]) => ({
  name: 'return-after-lost-write',
  nodes: [
    {
      id: 'each',
      type: 'foreach',
      config: {
        items: JSON.stringify(items),
        body: ['check', 'stop', 'work'],
        parallel: true,
        max_parallel: 2,
      },
    },
    { id: 'check', type: 'condition', config: { expression: "item = 'stop'" } },
    { id: 'stop', type: 'return', config: { value: 'stopped' } },
    { id: 'work', type: 'http', config: {} },
  ],
  edges: [
    { from: 'check', to: 'stop', when: 'true' },
    { from: 'check', to: 'work', when: 'false' },
  ],
});

/** Makes the write of work's successful run for item 0 of `executionId` fail, until dropped. */
async function failWorkZero(executionId: string): Promise<() => Promise<void>> {
  const name = `lf_test_fail_${randomUUID().replaceAll('-', '')}`;
  await store.db.pool.query(`create function ${name}() returns trigger language plpgsql as $$
    begin
      if new.execution_id = '${executionId}' and new.node_id = 'work' and new.iteration = 0
        and new.status = 'success' then
        perform pg_sleep(0.3);
        raise exception 'injected: the write of work for item 0 fails';
      end if;
      return new;
    end $$`);
  await store.db.pool.query(
    `create trigger ${name} before insert or update on node_runs
     for each row execute function ${name}()`,
  );
  return async () => {
    await store.db.pool.query(`drop trigger ${name} on node_runs`);
    await store.db.pool.query(`drop function ${name}()`);
  };
}

const nodeRuns = async (id: string) =>
  (
    await store.db.pool.query<{ r: string }>(
      `select node_id || '#' || iteration || ':' || status as r from node_runs
       where execution_id = $1 order by 1`,
      [id],
    )
  ).rows.map((x) => x.r);

/** Runs one attempt of `id` to its end; the error it failed with, if any. */
const attempt = (id: string, workerId: string): Promise<unknown> =>
  processExecution(
    store.processorDeps({ registry, workerId }),
    id,
    new CompiledWorkflowCache(),
  ).then(
    () => undefined,
    (err: unknown) => err,
  );

describe('a parallel loop whose lane’s write fails after the lane went on', () => {
  it('writes no return after it: the retried run reruns that iteration and ends success', async () => {
    ran.length = 0;
    // ARRANGE: work's write for "a" fails during the first attempt
    const id = await store.newExecution(loop(['a', 'b', 'stop']));
    const heal = await failWorkZero(id);
    // ACT: the first attempt; the lanes reach the return while that write fails
    let first: unknown;
    try {
      first = await attempt(id, 'first');
    } finally {
      await heal();
    }
    // ASSERT: the attempt failed and wrote nothing of the return
    expect(first).toBeInstanceOf(Error);
    expect(await nodeRuns(id)).not.toContain('stop#2:success');
    // ACT: the job's retry resumes
    expect(await attempt(id, 'second')).toBeUndefined();
    // ASSERT: work ran again for "a" only, everything is recorded, the execution returned
    const exec = await store.db.pool.query('select status from executions where id = $1', [id]);
    expect(exec.rows[0]).toEqual({ status: 'success' });
    expect(await nodeRuns(id)).toEqual(
      expect.arrayContaining(['work#0:success', 'work#1:success', 'stop#2:success']),
    );
    expect(ran.sort()).toEqual(['a', 'a', 'b']);
  });

  it('records the other lanes’ interrupted nodes as nothing, so the retry runs them', async () => {
    // ARRANGE: work for "b" is in flight when the write of work for "a" fails
    ran.length = 0;
    let open: () => void = () => undefined;
    gate = new Promise((resolve) => (open = resolve));
    const id = await store.newExecution(loop(['a', 'b']));
    const heal = await failWorkZero(id);
    // ACT
    let first: unknown;
    try {
      first = await attempt(id, 'first');
    } finally {
      await heal();
      open();
    }
    // ASSERT: the attempt failed; work for "b" was interrupted, not recorded cancelled
    expect(first).toBeInstanceOf(Error);
    expect((await nodeRuns(id)).filter((r) => r.endsWith(':cancelled'))).toEqual([]);
    // ACT: the retry
    expect(await attempt(id, 'second')).toBeUndefined();
    // ASSERT: both items ran again to success
    const exec = await store.db.pool.query('select status from executions where id = $1', [id]);
    expect(exec.rows[0]).toEqual({ status: 'success' });
    expect(await nodeRuns(id)).toEqual(
      expect.arrayContaining(['work#0:success', 'work#1:success']),
    );
  });
});
