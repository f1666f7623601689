import { Type } from '@sinclair/typebox';
import { beforeAll, describe, expect, it } from 'vitest';
import type {
  ExecutionStatus,
  NodeRunWrite,
  NodeStatus,
  WorkflowDefinition,
} from '@linkflow/domain';
import { createNodeRegistry, createTransformNode, type NodeDefinition } from '@linkflow/nodes';
import { createRecoveryRepository, createRunStore } from '@linkflow/store';
import { useStoreFixture } from '../testing/store-fixture.ts';
import { CompiledWorkflowCache, processExecution } from './execution-processor.ts';
import type { RunEvents } from './run-events.ts';

// The engine against the real store (Postgres, no BullMQ): what it checkpoints and how it
// finishes, read back from the database.

//   a ──▶ b ──▶ d        a, b, c: `step` nodes (count their runs, output {node, by: 'run'})
//   └───▶ c ──┘          d: transform `nodes.b.by & "/" & nodes.c.by`
const definition: WorkflowDefinition = {
  name: 'engine-int',
  nodes: [
    { id: 'a', type: 'http', config: {} },
    { id: 'b', type: 'http', config: {} },
    { id: 'c', type: 'http', config: {} },
    { id: 'd', type: 'transform', config: { expression: 'nodes.b.by & "/" & nodes.c.by' } },
  ],
  edges: [
    { from: 'a', to: 'b' },
    { from: 'a', to: 'c' },
    { from: 'b', to: 'd' },
    { from: 'c', to: 'd' },
  ],
};

/** Node runs of `step` nodes, in start order. */
const started: string[] = [];
/** While set, node `c` waits for it before finishing. */
let holdC: Promise<void> | undefined;
const step: NodeDefinition<never> = {
  type: 'http',
  version: 1,
  configSchema: Type.Object({}),
  rawFields: [],
  execute: async (ctx) => {
    started.push(ctx.nodeId);
    if (ctx.nodeId === 'c' && holdC) await holdC;
    return { output: { node: ctx.nodeId, by: 'run' }, usage: {} };
  },
};
const registry = createNodeRegistry([step, createTransformNode()]);

const store = useStoreFixture({ maxConnections: 4 });
let workflowId: string;

beforeAll(async () => {
  workflowId = await store.createWorkflow(definition);
});

const newExecution = (): Promise<string> => store.createExecution(workflowId);

/** A processor over the real run and lease stores, recording the live events it sends. */
function processorOn(workerId: string) {
  const events: { status: string; nodeId: string | undefined }[] = [];
  const recordEvents: RunEvents = {
    status: (_id, status, nodeId) => events.push({ status, nodeId }),
    logs: () => undefined,
  };
  const deps = store.processorDeps({ registry, workerId, events: recordEvents });
  return { deps, events };
}

async function stored(executionId: string) {
  const execution = await store.db.pool.query<{
    status: ExecutionStatus;
    output: unknown;
    attempt: number;
  }>('select status, output, attempt from executions where id = $1', [executionId]);
  const nodes = await store.db.pool.query<{ node_id: string; status: NodeStatus; output: unknown }>(
    'select node_id, status, output from node_runs where execution_id = $1 order by node_id',
    [executionId],
  );
  const transitions = await store.db.pool.query<{ to_status: string }>(
    'select to_status from execution_transitions where execution_id = $1 order by id',
    [executionId],
  );
  return {
    execution: execution.rows[0],
    nodes: Object.fromEntries(nodes.rows.map((r) => [r.node_id, r])),
    transitions: transitions.rows.map((r) => r.to_status),
  };
}

const checkpointOf = (nodeId: string): NodeRunWrite => ({
  nodeId,
  type: 'http',
  status: 'success',
  attempts: 1,
  startedAt: new Date(),
  finishedAt: new Date(),
  durationMs: 1,
  outputJson: JSON.stringify({ node: nodeId, by: 'checkpoint' }),
  outputBytes: 40,
  error: null,
  attemptLog: [],
  usage: null,
  cost: '0',
});

describe('processExecution on the real store', () => {
  it('checkpoints every node of a small DAG and finishes the execution', async () => {
    // ARRANGE
    const id = await newExecution();
    const { deps, events } = processorOn('engine-int-1');
    started.length = 0;
    // ACT
    const handedOver = await processExecution(deps, id, new CompiledWorkflowCache());
    // ASSERT
    expect(handedOver).toBeUndefined();
    const { execution, nodes, transitions } = await stored(id);
    expect(execution).toEqual({ status: 'success', output: { d: 'run/run' }, attempt: 1 });
    expect(Object.values(nodes).map((n) => [n.node_id, n.status])).toEqual([
      ['a', 'success'],
      ['b', 'success'],
      ['c', 'success'],
      ['d', 'success'],
    ]);
    expect(nodes['b']?.output).toEqual({ node: 'b', by: 'run' });
    expect(transitions).toEqual(['pending', 'running', 'success']);
    expect(started.sort()).toEqual(['a', 'b', 'c']);
    expect(events.at(0)).toEqual({ status: 'running', nodeId: undefined });
    expect(events.at(-1)).toEqual({ status: 'success', nodeId: undefined });
    expect(deps.runs.size).toBe(0);
  });

  it('counts the timeout of a recovered execution from its new start, even one never claimed before', async () => {
    // ARRANGE: created an hour ago with a 60 s timeout, dead-lettered before any worker
    // claimed it (its job failed at the claim), then recovered now
    const id = await store.createExecution(workflowId, 60);
    await store.db.pool.query(
      `update executions set created_at = now() - interval '1 hour' where id = $1`,
      [id],
    );
    expect(await createRunStore({ pool: store.db.pool }).markDead(id, 'gave up', new Date())).toBe(
      true,
    );
    const recovery = createRecoveryRepository({ pool: store.db.pool });
    expect(
      (await recovery.recover(store.tenantId, id, { at: new Date(), reason: 'test' })).outcome,
    ).toBe('recovered');
    const { deps } = processorOn('engine-int-recovered');
    // ACT
    await processExecution(deps, id, new CompiledWorkflowCache());
    // ASSERT: it ran, rather than timing out at once on its creation time
    const { execution } = await stored(id);
    expect(execution).toMatchObject({ status: 'success', output: { d: 'run/run' } });
  });

  it('resumes a taken-over execution without re-running its checkpointed nodes', async () => {
    // ARRANGE: a first worker claimed the execution, checkpointed a and b, then died
    const id = await newExecution();
    const first = createRunStore({
      pool: store.db.pool,
      workerId: 'engine-int-dead',
      leaseMs: 30_000,
    });
    const claim = await first.claim(id, new Date());
    if (!claim.claimed) throw new TypeError('not claimed');
    expect(await first.checkpoint(claim.execution.fence, checkpointOf('a'))).toEqual([]);
    expect(await first.checkpoint(claim.execution.fence, checkpointOf('b'))).toEqual([]);
    const { deps } = processorOn('engine-int-2');
    started.length = 0;
    // ACT: another worker takes it over
    await processExecution(deps, id, new CompiledWorkflowCache());
    // ASSERT: only c ran; d read b's checkpointed output
    expect(started).toEqual(['c']);
    const { execution, nodes, transitions } = await stored(id);
    expect(execution).toEqual({ status: 'success', output: { d: 'checkpoint/run' }, attempt: 2 });
    expect(nodes['a']?.output).toEqual({ node: 'a', by: 'checkpoint' });
    expect(nodes['b']?.output).toEqual({ node: 'b', by: 'checkpoint' });
    expect(nodes['c']?.output).toEqual({ node: 'c', by: 'run' });
    expect(transitions).toEqual(['pending', 'running', 'success']);
    // the dead worker's attempt is fenced out: its late writes change nothing
    expect(await first.checkpoint(claim.execution.fence, checkpointOf('c'))).toBeUndefined();
  });

  it('shows a node that a resume starts as running while it runs', async () => {
    // ARRANGE: a and b checkpointed by a dead worker; c (not a root) will be held in flight
    const id = await newExecution();
    const first = createRunStore({ pool: store.db.pool, workerId: 'engine-int-dead2' });
    const claim = await first.claim(id, new Date());
    if (!claim.claimed) throw new TypeError('not claimed');
    await first.checkpoint(claim.execution.fence, checkpointOf('a'));
    await first.checkpoint(claim.execution.fence, checkpointOf('b'));
    let release: () => void = () => undefined;
    holdC = new Promise((resolve) => (release = resolve));
    const { deps } = processorOn('engine-int-3');
    // ACT: another worker takes it over; c starts and is held
    const run = processExecution(deps, id, new CompiledWorkflowCache());
    try {
      // ASSERT: c's row says running (attempt 1, started) while it is in flight
      await expect
        .poll(async () => (await stored(id)).nodes['c']?.status, { timeout: 5_000 })
        .toBe('running');
    } finally {
      release();
      holdC = undefined;
    }
    await run;
    expect((await stored(id)).nodes['c']?.status).toBe('success');
  });
});
