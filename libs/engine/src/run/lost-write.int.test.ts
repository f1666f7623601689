import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '@linkflow/domain';
import {
  createConditionNode,
  createForeachNode,
  createNodeRegistry,
  createReturnNode,
  createTryNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import { fakeNodeType, returnInLoop } from '../testing/node-runner-fakes.ts';
import { useStoreFixture } from '../testing/store-fixture.ts';
import { createExecutionRepository } from '@linkflow/store';
import { CompiledWorkflowCache, processExecution } from './execution-processor.ts';

// A checkpoint write that fails for good (on real Postgres: a trigger holds the statement
// 300 ms, then raises an error no retry cures) fails the attempt; BullMQ retries the job.
// Whatever was in flight then is recorded as a restartable `running` row: the retry runs it
// again, and an execution that ends without a retry (cancelled meanwhile, timed out,
// dead-lettered) records it `cancelled`. Nothing that ran vanishes, nothing finished is lost.

const ran: string[] = [];
/** Holds work for "b" while it is closed (a node in flight when the run fails). */
let gate: Promise<void> = Promise.resolve();
/** While set, node "q" waits for the gate too. */
let qHeld = false;
const work = fakeNodeType('http', async (ctx, _config, input) => {
  ran.push(typeof input.item === 'string' ? input.item : ctx.nodeId);
  if (input.item === 'b' || (qHeld && ctx.nodeId === 'q')) await gate;
  return { output: { done: input.item }, usage: {} };
});
const registry = createNodeRegistry([
  createConditionNode(),
  createReturnNode(),
  createForeachNode(),
  createTryNode(),
  work,
] as NodeDefinition<never>[]);
const store = useStoreFixture({ maxConnections: 6 });

//   each (items, two lanes): body check → stop (return, when true) | work (when false)
const loop = (items: string[]) => returnInLoop(JSON.stringify(items), 'http');

/** Makes the write of `nodeId`'s successful run (of `iteration`, if given) fail, until dropped. */
async function failWrite(
  executionId: string,
  nodeId: string,
  iteration?: number,
): Promise<() => Promise<void>> {
  const name = `lf_test_fail_${randomUUID().replaceAll('-', '')}`;
  const ofIteration = iteration === undefined ? '' : `and new.iteration = ${iteration}`;
  await store.db.pool.query(`create function ${name}() returns trigger language plpgsql as $$
    begin
      if new.execution_id = '${executionId}' and new.node_id = '${nodeId}' ${ofIteration}
        and new.status = 'success' then
        perform pg_sleep(0.3);
        raise exception 'injected: the write of % fails', new.node_id;
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

/**
 * A first attempt that fails: the write of `failing` fails while the held node (work for "b",
 * or "q") is in flight. Its execution's id.
 */
async function failedFirstAttempt(
  definition: WorkflowDefinition,
  failing: { nodeId: string; iteration?: number },
  timeoutSeconds?: number,
): Promise<string> {
  ran.length = 0;
  let open: () => void = () => undefined;
  gate = new Promise((resolve) => (open = resolve));
  const id = await store.newExecution(definition, timeoutSeconds);
  const heal = await failWrite(id, failing.nodeId, failing.iteration);
  let first: unknown;
  try {
    first = await attempt(id, 'first');
  } finally {
    await heal();
    open();
  }
  expect(first).toBeInstanceOf(Error);
  return id;
}

/** Attempt 1 of a loop over a and b: a's write fails while work for "b" is in flight. */
const failedLoopAttempt = (timeoutSeconds?: number) =>
  failedFirstAttempt(loop(['a', 'b']), { nodeId: 'work', iteration: 0 }, timeoutSeconds);

/** The user cancels while the job waits for its retry. */
const cancelByUser = (id: string) =>
  createExecutionRepository({ pool: store.db.pool }).cancel(
    store.tenantId,
    id,
    new Date(),
    'cancelled by the test',
  );

const statusOf = async (id: string) =>
  (
    await store.db.pool.query<{ status: string }>('select status from executions where id = $1', [
      id,
    ])
  ).rows[0]?.status;

describe('a loop member in flight when a write failed, and no retry runs it again', () => {
  it('ends cancelled when the user cancels between the attempts', async () => {
    const id = await failedLoopAttempt();
    await cancelByUser(id);
    expect(await attempt(id, 'second')).toBeUndefined();
    expect(await statusOf(id)).toBe('cancelled');
    // work for "b" was in flight in attempt 1: it ends `cancelled`, it does not vanish
    expect(await nodeRuns(id)).toEqual(expect.arrayContaining(['work#1:cancelled']));
  }, 30_000);

  it('ends cancelled when the deadline passes before the retry (which times out at once)', async () => {
    const id = await failedLoopAttempt(2);
    await new Promise((r) => setTimeout(r, 2_200));
    expect(await attempt(id, 'second')).toBeUndefined();
    expect(await statusOf(id)).toBe('failed');
    expect(await nodeRuns(id)).toEqual(expect.arrayContaining(['work#1:cancelled']));
  }, 30_000);

  it('ends cancelled when the job is dead-lettered after the attempt', async () => {
    const id = await failedLoopAttempt();
    const deps = store.processorDeps({ registry, workerId: 'dlq' });
    await deps.runStore.markDead(id, 'job spent', new Date());
    expect(await statusOf(id)).toBe('failed');
    expect(await nodeRuns(id)).toEqual(expect.arrayContaining(['work#1:cancelled']));
  }, 30_000);
});

//   guard: try [p, q] (side by side); p's write fails while q is in flight
const guarded = {
  name: 'try-lost-write',
  nodes: [
    { id: 'guard', type: 'try', config: { try: ['p', 'q'] } },
    { id: 'p', type: 'http', config: {} },
    { id: 'q', type: 'http', config: {} },
  ],
  edges: [],
};

describe('a try member in flight when its sibling’s write failed', () => {
  it('ends cancelled when the user cancels between the attempts', async () => {
    qHeld = true;
    const id = await failedFirstAttempt(guarded, { nodeId: 'p' }).finally(() => (qHeld = false));
    await cancelByUser(id);
    expect(await attempt(id, 'second')).toBeUndefined();
    expect(await statusOf(id)).toBe('cancelled');
    expect(await nodeRuns(id)).toEqual(expect.arrayContaining(['q#-1:cancelled']));
  }, 30_000);
});

describe('a parallel loop whose lane’s write fails after the lane went on', () => {
  it('writes no return after it: the retried run reruns that iteration and ends success', async () => {
    ran.length = 0;
    // ARRANGE: work's write for "a" fails during the first attempt
    const id = await store.newExecution(loop(['a', 'b', 'stop']));
    const heal = await failWrite(id, 'work', 0);
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

  it('records the other lanes’ nodes in flight as running, not cancelled, so the retry runs them', async () => {
    // ARRANGE, ACT: work for "b" is in flight when the write of work for "a" fails
    const id = await failedLoopAttempt();
    // ASSERT: work for "b" was interrupted: recorded running, not cancelled
    expect((await nodeRuns(id)).filter((r) => r.endsWith(':cancelled'))).toEqual([]);
    expect(await nodeRuns(id)).toContain('work#1:running');
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
