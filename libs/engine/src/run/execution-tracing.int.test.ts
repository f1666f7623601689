import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { createRunStore } from '@linkflow/store';
import { createNodeRegistry, NodeError, type NodeDefinition } from '@linkflow/nodes';
import { createFakeTracing } from '../testing/fake-tracing.ts';
import { useStoreFixture } from '../testing/store-fixture.ts';
import { CompiledWorkflowCache, processExecution } from './execution-processor.ts';

// The execution run's span through the tracing port (a fake), on the real store.

/** `ok` nodes succeed; a node with `fail: true` fails (not retryable). */
const step: NodeDefinition<{ fail?: boolean }> = {
  type: 'http',
  version: 1,
  configSchema: Type.Object({ fail: Type.Optional(Type.Boolean()) }),
  rawFields: [],
  execute: (_ctx, config) =>
    config.fail === true
      ? Promise.reject(new NodeError('CONNECTIVITY', 'connection refused', { retryable: false }))
      : Promise.resolve({ output: { ok: true }, usage: { net_bytes_in: 100 } }),
};
const registry = createNodeRegistry([step]);
const store = useStoreFixture({ maxConnections: 4 });

function tracedDeps(workerId: string) {
  const tracing = createFakeTracing();
  const base = store.processorDeps({ registry, workerId });
  return { tracing, deps: { ...base, tracing, nodes: { ...base.nodes, tracing } } };
}

describe('execution run spans', () => {
  it('spans the run with workflow, status, error type and cost; node attempts are its children', async () => {
    //   a ──▶ b (fails: CONNECTIVITY)
    const id = await store.newExecution({
      name: 'traced',
      nodes: [
        { id: 'a', type: 'http', config: {} },
        { id: 'b', type: 'http', config: { fail: true } },
      ],
      edges: [{ from: 'a', to: 'b' }],
    });
    const { tracing, deps } = tracedDeps('trace-int-1');
    // ACT
    await processExecution(deps, id, new CompiledWorkflowCache());
    // ASSERT
    const [run, ...nodes] = tracing.spans;
    expect(run?.kind).toBe('execution');
    expect(run?.info).toMatchObject({
      executionId: id,
      workflowVersion: 1,
      attempt: 1,
      resumed: false,
      tenantId: store.tenantId,
    });
    expect(run?.outcome).toMatchObject({ status: 'failed', errorType: 'CONNECTIVITY' });
    expect(run?.ends).toBe(1);
    expect(nodes.map((s) => [s.info['nodeId'], s.outcome?.status, s.parent])).toEqual([
      ['a', 'success', run?.id],
      ['b', 'failed', run?.id],
    ]);
    const costs = await store.db.pool.query<{ total: string }>(
      'select sum(cost)::text as total from node_runs where execution_id = $1',
      [id],
    );
    expect(run?.outcome?.costUsd).toBeCloseTo(Number(costs.rows[0]?.total), 8);
  });

  it('marks a resumed run as resumed, with its claim attempt', async () => {
    const id = await store.newExecution({
      name: 'resumed',
      nodes: [{ id: 'a', type: 'http', config: {} }],
    });
    // a first worker claimed it and died
    await createRunStore({ pool: store.db.pool, workerId: 'dead', leaseMs: 30_000 }).claim(
      id,
      new Date(),
    );
    const { tracing, deps } = tracedDeps('trace-int-2');
    await processExecution(deps, id, new CompiledWorkflowCache());
    expect(tracing.spans[0]?.info).toMatchObject({ attempt: 2, resumed: true });
    expect(tracing.spans[0]?.outcome).toMatchObject({ status: 'success' });
  });

  it('opens no span for a job whose execution is not claimable', async () => {
    const id = await store.newExecution({
      name: 'done',
      nodes: [{ id: 'a', type: 'http', config: {} }],
    });
    await processExecution(tracedDeps('trace-int-3').deps, id, new CompiledWorkflowCache());
    const { tracing, deps } = tracedDeps('trace-int-4');
    await processExecution(deps, id, new CompiledWorkflowCache());
    expect(tracing.spans).toEqual([]);
  });
});
