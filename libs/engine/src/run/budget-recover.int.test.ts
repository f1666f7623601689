import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_CARD, type WorkflowDefinition } from '@linkflow/domain';
import { createNodeRegistry, NodeError } from '@linkflow/nodes';
import { createRecoveryRepository } from '@linkflow/store';
import { useStoreFixture } from '../testing/store-fixture.ts';
import { CompiledWorkflowCache, processExecution } from './execution-processor.ts';
import { fakeNodeType } from '../testing/node-runner-fakes.ts';

// settings.max_cost across POST /api/executions/:id/recover: a failed node's charge stays on
// the execution (cost_total), so the recovered run must count it before rerunning anything.

const started: string[] = [];
const step = fakeNodeType('http', (ctx) => {
  started.push(ctx.nodeId);
  if (ctx.nodeId === 'b')
    return Promise.reject(new NodeError('EXECUTION', 'b fails', { retryable: false }));
  return Promise.resolve({ output: { node: ctx.nodeId }, usage: {} });
});
const registry = createNodeRegistry([step]);
/** Every node run costs exactly 0.01 USD. */
const rateCard = { ...DEFAULT_RATE_CARD, per_node_run: 0.01, per_wall_ms: 0, per_byte_stored: 0 };

//   a ──▶ b, budget 0.02 USD; b always fails
const definition: WorkflowDefinition = {
  name: 'budget-recover-int',
  nodes: ['a', 'b'].map((id) => ({ id, type: 'http', config: {} })),
  edges: [{ from: 'a', to: 'b' }],
  settings: { max_cost: '0.02' },
};

const store = useStoreFixture({ maxConnections: 4 });

function processorOn(workerId: string) {
  const deps = store.processorDeps({ registry, workerId });
  return { ...deps, nodes: { ...deps.nodes, rateCard } };
}

async function total(id: string) {
  const res = await store.db.pool.query<{
    status: string;
    error: { type: string } | null;
    cost: string;
  }>('select status, error, cost_total::text as cost from executions where id = $1', [id]);
  return res.rows[0];
}

describe('settings.max_cost after a recover', () => {
  it('counts the failed runs already charged: no rerun once the total reached the budget', async () => {
    // ARRANGE: a (0.01) succeeds, b (0.01) fails: the execution has cost 0.02, its budget
    const id = await store.newExecution(definition);
    started.length = 0;
    await processExecution(processorOn('budget-recover-1'), id, new CompiledWorkflowCache());
    expect(await total(id)).toMatchObject({ status: 'failed', cost: '0.02000000' });
    const recovery = createRecoveryRepository({ pool: store.db.pool });
    // ACT: recover it, and once more
    for (const n of [2, 3]) {
      const outcome = await recovery.recover(null, id, { at: new Date(), reason: 'test' });
      expect(outcome.outcome).toBe('recovered');
      await processExecution(processorOn(`budget-recover-${n}`), id, new CompiledWorkflowCache());
    }
    // ASSERT: b never ran again and the total stayed within the budget
    expect(started).toEqual(['a', 'b']);
    expect(await total(id)).toMatchObject({
      status: 'failed',
      error: { type: 'BUDGET', node_id: 'b' },
      cost: '0.02000000',
    });
  });
});
