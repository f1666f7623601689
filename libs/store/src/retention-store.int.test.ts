import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createLogRepository } from './log-repository.ts';
import { createRetentionStore } from './retention-store.ts';
import { createWorkflowRepository } from './workflow-repository.ts';

// Retention on the real database. Every execution here belongs to this file's own tenant,
// and the cutoff is far in the past, so other test files' executions are never old enough.

let db: Db;
let tenantId: string;
let workflowId: string;
const ids = { next: () => randomUUID() };
const DAY = 86_400_000;
/** Executions of this file "finish" around year 2000; the cutoff sits at 2001. */
const cutoff = new Date('2001-01-01T00:00:00Z');
const longAgo = new Date('2000-01-01T00:00:00Z');

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
  tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  workflowId = (
    await createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids }).create(tenantId, {
      name: 'w',
      nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
    })
  ).id;
});
afterAll(async () => db.close());

/** An execution in `status`, finished at `finishedAt`, with one node run and two log lines. */
async function execution(status: string, finishedAt: Date | null): Promise<string> {
  const created = await createExecutionRepository({ pool: db.pool }).create({
    id: ids.next(),
    tenantId,
    workflowId,
    workflowVersion: 1,
    priority: 'normal',
    inputData: {},
    at: new Date(),
  });
  if (created.outcome !== 'created') throw new TypeError('not created');
  const id = created.execution.id;
  await db.pool.query('update executions set status = $2, finished_at = $3 where id = $1', [
    id,
    status,
    finishedAt,
  ]);
  await db.pool.query(
    `insert into node_runs (execution_id, node_id, type, status, attempts) values ($1, 'a', 'transform', 'success', 1)`,
    [id],
  );
  await createLogRepository({ pool: db.pool }).append(id, [
    { at: new Date(), level: 'info', nodeId: null, message: 'one' },
    { at: new Date(), level: 'info', nodeId: 'a', message: 'two' },
  ]);
  return id;
}

async function remaining(id: string) {
  const res = await db.pool.query<{
    execution: number;
    runs: number;
    logs: number;
    purged: boolean;
  }>(
    `select (select count(*)::int from executions where id = $1) as execution,
       (select count(*)::int from node_runs where execution_id = $1) as runs,
       (select count(*)::int from execution_logs where execution_id = $1) as logs,
       coalesce((select purged_at is not null from executions where id = $1), false) as purged`,
    [id],
  );
  return res.rows[0];
}

describe('retention store', () => {
  it('purges node runs and logs of old terminal executions only, keeping their summary', async () => {
    const store = createRetentionStore({ pool: db.pool });
    const oldDone = await execution('success', longAgo);
    const oldFailed = await execution('failed', new Date(longAgo.getTime() + DAY));
    const oldActive = await execution('running', null);
    const recent = await execution('success', new Date());
    // ACT: batches of one until a short one
    const first = await store.purge({ before: cutoff, limit: 1, deleteExecutions: false });
    const second = await store.purge({ before: cutoff, limit: 1, deleteExecutions: false });
    const third = await store.purge({ before: cutoff, limit: 1, deleteExecutions: false });
    // ASSERT
    expect([first, second, third]).toEqual([
      { executions: 1, nodeRuns: 1, logs: 2 },
      { executions: 1, nodeRuns: 1, logs: 2 },
      { executions: 0, nodeRuns: 0, logs: 0 },
    ]);
    for (const id of [oldDone, oldFailed])
      expect(await remaining(id)).toEqual({ execution: 1, runs: 0, logs: 0, purged: true });
    for (const id of [oldActive, recent])
      expect(await remaining(id)).toEqual({ execution: 1, runs: 1, logs: 2, purged: false });
  });

  it('deletes the executions themselves (with their transitions) when told to', async () => {
    const store = createRetentionStore({ pool: db.pool });
    const old = await execution('cancelled', longAgo);
    const counts = await store.purge({ before: cutoff, limit: 10, deleteExecutions: true });
    expect(counts.executions).toBeGreaterThanOrEqual(1);
    expect(await remaining(old)).toEqual({ execution: 0, runs: 0, logs: 0, purged: false });
    const transitions = await db.pool.query(
      'select 1 from execution_transitions where execution_id = $1',
      [old],
    );
    expect(transitions.rowCount).toBe(0);
  });

  it('skips executions another purger holds instead of waiting for them', async () => {
    const store = createRetentionStore({ pool: db.pool });
    const held = await execution('success', longAgo);
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query('select 1 from executions where id = $1 for update', [held]);
      const counts = await store.purge({ before: cutoff, limit: 10, deleteExecutions: false });
      expect(counts.executions).toBe(0);
    } finally {
      await client.query('rollback');
      client.release();
    }
    expect(
      (await store.purge({ before: cutoff, limit: 10, deleteExecutions: false })).executions,
    ).toBe(1);
  });
});
