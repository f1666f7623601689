import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_CARD, type NodeRunWrite, type WorkflowDefinition } from '@linkflow/domain';
import { createNodeRegistry } from '@linkflow/nodes';
import { createRunStore } from '@linkflow/store';
import { useStoreFixture } from '../testing/store-fixture.ts';
import { CompiledWorkflowCache, processExecution } from './execution-processor.ts';
import { fakeNodeType } from '../testing/node-runner-fakes.ts';

// settings.max_cost against the real store: what ran, what was cancelled, the stored error
// and total, read back from Postgres.

/** `step` nodes, in start order. */
const started: string[] = [];
const step = fakeNodeType('http', (ctx) => {
  started.push(ctx.nodeId);
  return Promise.resolve({ output: { node: ctx.nodeId }, usage: {} });
});
const registry = createNodeRegistry([step]);
/** Every node run costs exactly 0.01 USD. */
const rateCard = {
  ...DEFAULT_RATE_CARD,
  per_node_run: 0.01,
  per_wall_ms: 0,
  per_byte_stored: 0,
};

//   a ──▶ b ──▶ c, budget 0.02 USD
const definition: WorkflowDefinition = {
  name: 'budget-int',
  nodes: ['a', 'b', 'c'].map((id) => ({ id, type: 'http', config: {} })),
  edges: [
    { from: 'a', to: 'b' },
    { from: 'b', to: 'c' },
  ],
  settings: { max_cost: '0.02' },
};

const store = useStoreFixture({ maxConnections: 4 });

function processorOn(workerId: string) {
  const deps = store.processorDeps({ registry, workerId });
  return { ...deps, nodes: { ...deps.nodes, rateCard } };
}

async function stored(executionId: string) {
  const execution = await store.db.pool.query<{ status: string; error: unknown; cost: string }>(
    'select status, error, cost_total::text as cost from executions where id = $1',
    [executionId],
  );
  const nodes = await store.db.pool.query<{ node_id: string; status: string; cost: string }>(
    'select node_id, status, error, cost::text as cost from node_runs where execution_id = $1 order by node_id',
    [executionId],
  );
  return { execution: execution.rows[0], nodes: nodes.rows };
}

const checkpointOf = (nodeId: string, cost: string): NodeRunWrite => ({
  nodeId,
  type: 'http',
  status: 'success',
  attempts: 1,
  startedAt: new Date(),
  finishedAt: new Date(),
  durationMs: 1,
  outputJson: JSON.stringify({ node: nodeId }),
  outputBytes: 12,
  error: null,
  attemptLog: [],
  usage: null,
  cost,
});

const message = (node: string) =>
  `node ${node} not started: the execution's cost reached its budget of 0.02 USD`;

describe('settings.max_cost on the real store', () => {
  it('stops the run before the node that would exceed the budget', async () => {
    // ARRANGE
    const id = await store.newExecution(definition);
    started.length = 0;
    // ACT
    await processExecution(processorOn('budget-int-1'), id, new CompiledWorkflowCache());
    // ASSERT: a and b ran (0.02 in all), c did not start
    expect(started).toEqual(['a', 'b']);
    const { execution, nodes } = await stored(id);
    expect(execution).toEqual({
      status: 'failed',
      error: { type: 'BUDGET', message: message('c'), node_id: 'c' },
      cost: '0.02000000',
    });
    expect(nodes).toEqual([
      { node_id: 'a', status: 'success', error: null, cost: '0.01000000' },
      { node_id: 'b', status: 'success', error: null, cost: '0.01000000' },
      {
        node_id: 'c',
        status: 'cancelled',
        error: { type: 'BUDGET', message: message('c') },
        cost: '0.00000000',
      },
    ]);
  });

  it('counts the checkpointed cost of an earlier attempt when it resumes', async () => {
    // ARRANGE: a first worker checkpointed a at 0.02 (the whole budget), then died
    const id = await store.newExecution(definition);
    const first = createRunStore({ pool: store.db.pool, workerId: 'budget-int-dead' });
    const claim = await first.claim(id, new Date());
    if (!claim.claimed) throw new TypeError('not claimed');
    await first.checkpoint(claim.execution.fence, checkpointOf('a', '0.02'));
    started.length = 0;
    // ACT: another worker takes it over
    await processExecution(processorOn('budget-int-2'), id, new CompiledWorkflowCache());
    // ASSERT: nothing more ran; b is the node not started
    expect(started).toEqual([]);
    const { execution, nodes } = await stored(id);
    expect(execution).toMatchObject({
      status: 'failed',
      error: { type: 'BUDGET', node_id: 'b', message: message('b') },
      cost: '0.02000000',
    });
    expect(nodes.map((n) => [n.node_id, n.status])).toEqual([
      ['a', 'success'],
      ['b', 'cancelled'],
      ['c', 'cancelled'],
    ]);
  });
});
