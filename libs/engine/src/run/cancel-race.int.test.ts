import { describe, expect, it } from 'vitest';
import { createNodeRegistry } from '@linkflow/nodes';
import { createExecutionRepository } from '@linkflow/store';
import { useStoreFixture } from '../testing/store-fixture.ts';
import { CompiledWorkflowCache, processExecution } from './execution-processor.ts';
import { fakeNodeType } from '../testing/node-runner-fakes.ts';

// In-flight node runs are visible (`running`, then `cancelled` with their timing), and an
// API cancel that races a node's completion: the node ran and succeeded, so its result
// and logs are recorded even though the execution ends `cancelled`. The race is made
// deterministic with a test transaction holding the execution row lock while the API's
// cancel statement and then the engine's write queue behind it (the cancel goes first).

/** `gate` nodes wait until the test opens them. */
let open: () => void = () => undefined;
let opened: Promise<void> = Promise.resolve();
const startedNodes: string[] = [];
const gate = fakeNodeType('http', async (ctx) => {
  startedNodes.push(ctx.nodeId);
  if (ctx.nodeId === 'slow')
    await new Promise<void>((resolve) => {
      void opened.then(resolve);
      ctx.signal.addEventListener('abort', () => resolve());
    });
  return { output: { node: ctx.nodeId }, usage: {} };
});
const registry = createNodeRegistry([gate]);

const store = useStoreFixture({ maxConnections: 8 });
const newExecution = store.newExecution;
const processorDeps = () => store.processorDeps({ registry, workerId: 'race-int' });

/** Backends of the test database waiting on a lock. */
async function lockWaiters(): Promise<number> {
  const res = await store.db.pool.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
     where datname = current_database() and wait_event_type = 'Lock'`,
  );
  return res.rows[0]?.n ?? 0;
}

/**
 * Runs the execution; while `slow` is in flight, holds its row lock, queues the API cancel
 * on it, lets `slow` finish (its write queues second), then lets go.
 */
async function cancelRacingCompletion(id: string): Promise<void> {
  opened = new Promise((resolve) => (open = resolve));
  startedNodes.length = 0;
  const run = processExecution(processorDeps(), id, new CompiledWorkflowCache());
  await expect.poll(() => startedNodes.includes('slow'), { timeout: 10_000 }).toBe(true);
  const locker = await store.db.pool.connect();
  try {
    await locker.query('begin');
    await locker.query('select id from executions where id = $1 for update', [id]);
    const cancel = createExecutionRepository({ pool: store.db.pool }).cancel(
      store.tenantId,
      id,
      new Date(),
      'cancelled by the test',
    );
    await expect.poll(lockWaiters, { timeout: 10_000 }).toBe(1);
    open();
    await expect.poll(lockWaiters, { timeout: 10_000 }).toBe(2);
    await locker.query('commit');
    expect(await cancel).toEqual({ outcome: 'changed', from: 'running' });
  } finally {
    locker.release();
  }
  await run;
}

async function stored(id: string) {
  const status = await store.db.pool.query<{ status: string }>(
    'select status from executions where id = $1',
    [id],
  );
  const nodes = await store.db.pool.query<{ node_id: string; status: string; output: unknown }>(
    'select node_id, status, output from node_runs where execution_id = $1 order by node_id',
    [id],
  );
  const logs = await store.db.pool.query<{ message: string }>(
    'select message from execution_logs where execution_id = $1 order by seq',
    [id],
  );
  return {
    status: status.rows[0]?.status,
    nodes: Object.fromEntries(nodes.rows.map((r) => [r.node_id, r])),
    logs: logs.rows.map((r) => r.message),
  };
}

describe('a cancel racing a node completion', () => {
  it('records the last node that succeeded, and the logs, under the cancelled status', async () => {
    // ARRANGE
    const id = await newExecution({
      name: 'race-last',
      nodes: [{ id: 'slow', type: 'http', config: {} }],
      edges: [],
    });
    // ACT
    await cancelRacingCompletion(id);
    // ASSERT
    const { status, nodes, logs } = await stored(id);
    expect(status).toBe('cancelled');
    expect(nodes['slow']).toMatchObject({ status: 'success', output: { node: 'slow' } });
    expect(logs).toContain('execution started');
  }, 30_000);

  it('records a chained node that succeeded before the cancel took effect', async () => {
    // ARRANGE: slow ──▶ next
    const id = await newExecution({
      name: 'race-chain',
      nodes: [
        { id: 'slow', type: 'http', config: {} },
        { id: 'next', type: 'http', config: {} },
      ],
      edges: [{ from: 'slow', to: 'next' }],
    });
    // ACT
    await cancelRacingCompletion(id);
    // ASSERT
    const { status, nodes } = await stored(id);
    expect(status).toBe('cancelled');
    expect(nodes['slow']).toMatchObject({ status: 'success', output: { node: 'slow' } });
    expect(nodes['next']?.status).toBe('cancelled');
    expect(startedNodes).toEqual(['slow']);
  }, 30_000);
});

describe('in-flight node runs', () => {
  const nodeRun = async (id: string, nodeId: string) =>
    (
      await createExecutionRepository({ pool: store.db.pool }).get(store.tenantId, id)
    )?.nodeRuns.find((n) => n.nodeId === nodeId);

  it('shows a root node running while it runs', async () => {
    // ARRANGE
    const id = await newExecution({
      name: 'visible-root',
      nodes: [{ id: 'slow', type: 'http', config: {} }],
      edges: [],
    });
    opened = new Promise((resolve) => (open = resolve));
    startedNodes.length = 0;
    // ACT
    const run = processExecution(processorDeps(), id, new CompiledWorkflowCache());
    await expect.poll(() => startedNodes.includes('slow'), { timeout: 10_000 }).toBe(true);
    // ASSERT
    expect(await nodeRun(id, 'slow')).toMatchObject({ status: 'running', attempts: 1 });
    expect((await nodeRun(id, 'slow'))?.startedAt).toBeInstanceOf(Date);
    open();
    await run;
    expect(await nodeRun(id, 'slow')).toMatchObject({ status: 'success', attempts: 1 });
  }, 30_000);

  it('shows a chained node running, then cancelled with its attempt and timing', async () => {
    // ARRANGE: first ──▶ slow
    const id = await newExecution({
      name: 'visible-chain',
      nodes: [
        { id: 'first', type: 'http', config: {} },
        { id: 'slow', type: 'http', config: {} },
      ],
      edges: [{ from: 'first', to: 'slow' }],
    });
    opened = new Promise((resolve) => (open = resolve));
    startedNodes.length = 0;
    const deps = processorDeps();
    const run = processExecution(deps, id, new CompiledWorkflowCache());
    await expect.poll(() => startedNodes.includes('slow'), { timeout: 10_000 }).toBe(true);
    expect(await nodeRun(id, 'slow')).toMatchObject({ status: 'running', attempts: 1 });
    // ACT: the API's cancel, then its control signal
    await createExecutionRepository({ pool: store.db.pool }).cancel(
      store.tenantId,
      id,
      new Date(),
      'test',
    );
    deps.runs.cancel(id);
    await run;
    // ASSERT
    const slow = await nodeRun(id, 'slow');
    expect(slow).toMatchObject({ status: 'cancelled' });
    expect(slow?.attempts).toBeGreaterThanOrEqual(1);
    expect(slow?.startedAt).toBeInstanceOf(Date);
    expect(slow?.finishedAt).toBeInstanceOf(Date);
    expect(slow?.durationMs).toBeGreaterThanOrEqual(0);
    expect(await nodeRun(id, 'first')).toMatchObject({ status: 'success' });
  }, 30_000);

  it('ends a node in flight at the execution timeout cancelled with TIMEOUT, timed', async () => {
    // ARRANGE: a 1 s execution timeout; slow never finishes on its own
    const id = await newExecution(
      { name: 'visible-timeout', nodes: [{ id: 'slow', type: 'http', config: {} }], edges: [] },
      1,
    );
    opened = new Promise(() => undefined);
    // ACT
    await processExecution(processorDeps(), id, new CompiledWorkflowCache());
    // ASSERT
    const slow = await nodeRun(id, 'slow');
    expect(slow).toMatchObject({ status: 'cancelled', error: { type: 'TIMEOUT' } });
    expect(slow?.attempts).toBeGreaterThanOrEqual(1);
    expect(slow?.finishedAt).toBeInstanceOf(Date);
    expect(slow?.durationMs).toBeGreaterThanOrEqual(0);
  }, 30_000);
});
