import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeRegistry, type NodeDefinition } from '@linkflow/nodes';
import {
  createApiKeyRepository,
  createDb,
  createExecutionRepository,
  createLeaseStore,
  createRunStore,
  createWorkflowRepository,
  type Db,
} from '@linkflow/store';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { BreakerRegistry } from '../breakers/breaker-registry.ts';
import { createRecordingLogger } from '../testing/recording-logger.ts';
import { CompiledWorkflowCache, processExecution } from '../run/execution-processor.ts';
import { RunTable } from '../run/run-handle.ts';
import { Semaphore } from '../run/semaphore.ts';
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

let db: Db;
const breakers = new BreakerRegistry();
const ids = { next: () => randomUUID() };

beforeAll(() => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 4 });
});
afterAll(async () => {
  breakers.shutdown();
  await db.close();
});

describe('the lease keeper', () => {
  it('stops a run with TIMEOUT when its timeout is lowered in Postgres without a signal', async () => {
    // ARRANGE: a one-node execution with no timeout, run with 600 ms leases (renewed every 200 ms)
    const tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
      `t-${randomUUID()}`,
    );
    const workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
    const workflowId = (
      await workflows.create(tenantId, {
        name: 'lease-timeout',
        nodes: [{ id: 'wait', type: 'http', config: {} }],
        edges: [],
      })
    ).id;
    const executions = createExecutionRepository({ pool: db.pool });
    const created = await executions.create({
      id: ids.next(),
      tenantId,
      workflowId,
      workflowVersion: 1,
      priority: 'normal',
      inputData: {},
      at: new Date(),
    });
    if (created.outcome !== 'created') throw new TypeError('execution not created');
    const id = created.execution.id;
    const clock = { now: () => new Date() };
    const runs = new RunTable();
    const log = createRecordingLogger();
    const leases = createLeaseStore({ pool: db.pool, leaseMs: 600 });
    const stopKeeper = startLeaseKeeper({ leases, runs, log }, 600);
    try {
      const run = processExecution(
        {
          runStore: createRunStore({ pool: db.pool, workerId: 'lease-int', leaseMs: 600 }),
          leases,
          registry,
          runs,
          clock,
          workerId: 'lease-int',
          log,
          events: { status: () => undefined, logs: () => undefined },
          nodes: {
            registry,
            breakers,
            slots: new Semaphore(2),
            clock,
            random: () => 0.5,
            maxOutputBytes: 1024 * 1024,
          },
        },
        id,
        new CompiledWorkflowCache(),
      );
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
      const row = await db.pool.query<{ status: string; error: { type: string } | null }>(
        'select status, error from executions where id = $1',
        [id],
      );
      expect(row.rows[0]).toMatchObject({ status: 'failed', error: { type: 'TIMEOUT' } });
    } finally {
      stopKeeper();
    }
  }, 30_000);
});
