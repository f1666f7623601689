import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { createNodeRegistry, type NodeDefinition } from '@linkflow/nodes';
import { createExecutionRepository } from '@linkflow/store';
import { useStoreFixture } from '../testing/store-fixture.ts';
import { CompiledWorkflowCache, processExecution } from '../run/execution-processor.ts';
import { startLeaseKeeper } from './lease-keeper.ts';

// A timeout changed in Postgres whose control signal never arrived (Redis lost it) still
// reaches the run: the lease renewal reads `timeout_seconds` and re-arms the deadline.

/** Waits until aborted (or 20 s). */
const waits: NodeDefinition<never> = {
  type: 'http',
  version: 1,
  configSchema: Type.Object({}),
  rawFields: [],
  execute: (ctx) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ output: 'done', usage: {} }), 20_000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve({ output: 'aborted', usage: {} });
      });
    }),
};
const registry = createNodeRegistry([waits]);

const store = useStoreFixture({ maxConnections: 4 });

describe('the lease keeper', () => {
  it('stops a run with TIMEOUT when its timeout is lowered in Postgres without a signal', async () => {
    // ARRANGE: a one-node execution with no timeout, run with 600 ms leases (renewed every 200 ms)
    const { tenantId } = store;
    const id = await store.newExecution({
      name: 'lease-timeout',
      nodes: [{ id: 'wait', type: 'http', config: {} }],
      edges: [],
    });
    const executions = createExecutionRepository({ pool: store.db.pool });
    const deps = store.processorDeps({ registry, workerId: 'lease-int', leaseMs: 600, slots: 2 });
    const { leases, runs, log } = deps;
    const stopKeeper = startLeaseKeeper({ leases, runs, log }, 600);
    try {
      const run = processExecution(deps, id, new CompiledWorkflowCache());
      await expect.poll(() => runs.size, { timeout: 10_000 }).toBe(1);
      // ACT: the API's statement only; no control signal is sent
      expect(await executions.setTimeout(tenantId, id, 1)).toEqual({
        outcome: 'changed',
        from: 'running',
      });
      const changedAt = Date.now();
      await run;
      // ASSERT: stopped at the new deadline, give or take a renewal (the node alone waits 20 s)
      expect(Date.now() - changedAt).toBeLessThan(5_000);
      const row = await store.db.pool.query<{ status: string; error: { type: string } | null }>(
        'select status, error from executions where id = $1',
        [id],
      );
      expect(row.rows[0]).toMatchObject({ status: 'failed', error: { type: 'TIMEOUT' } });
    } finally {
      stopKeeper();
    }
  }, 30_000);
});
