import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createRunStore, type NodeRunWrite } from './run-store.ts';
import { createWorkflowRepository } from './workflow-repository.ts';

let db: Db;
let tenantId: string;
let workflowId: string;
const ids = { next: () => randomUUID() };

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
  tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  workflowId = (
    await createWorkflowRepository({ prisma: db.prisma, ids }).create(tenantId, {
      name: 'w',
      nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
    })
  ).id;
});
afterAll(async () => db.close());

async function newExecution(): Promise<string> {
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
  return created.execution.id;
}

const write = (output: unknown): NodeRunWrite => ({
  nodeId: 'a',
  type: 'transform',
  status: 'success',
  attempts: 1,
  startedAt: new Date(),
  finishedAt: new Date(),
  durationMs: 1,
  outputJson: JSON.stringify(output),
  outputBytes: 1,
  error: null,
  attemptLog: [],
  usage: null,
  cost: '0.00000100',
});

describe('run store fencing', () => {
  it('claims pending as running with a transition, then re-claims with a higher attempt', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const first = await store.claim(id, 'worker-a', new Date());
    const second = await store.claim(id, 'worker-b', new Date());
    expect(first.claimed && first.execution.previousStatus).toBe('pending');
    expect(second.claimed && second.execution.previousStatus).toBe('running');
    expect(second.claimed && second.execution.fence.attempt).toBe(
      first.claimed ? first.execution.fence.attempt + 1 : -1,
    );
    const transitions = await db.pool.query(
      'select to_status from execution_transitions where execution_id = $1 order by id',
      [id],
    );
    expect(transitions.rows.map((r: { to_status: string }) => r.to_status)).toEqual([
      'pending',
      'running',
    ]);
  });

  it('never lets a worker that lost its lease overwrite the newer result', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const stale = await store.claim(id, 'worker-a', new Date());
    const fresh = await store.claim(id, 'worker-b', new Date());
    if (!stale.claimed || !fresh.claimed) throw new TypeError('claims failed');
    // ACT: the new holder checkpoints and finishes; the stale one tries to do the same after
    expect(
      await store.checkpoint(fresh.execution.fence, write('fresh'), [
        { at: new Date(), level: 'info', nodeId: 'a', message: 'fresh' },
      ]),
    ).toEqual([1]);
    expect(
      await store.finish(fresh.execution.fence, {
        status: 'success',
        output: { a: 'fresh' },
        error: null,
        at: new Date(),
        reason: 'done',
      }),
    ).toBe(true);
    expect(await store.checkpoint(stale.execution.fence, write('stale'))).toBeUndefined();
    expect(
      await store.finish(stale.execution.fence, {
        status: 'failed',
        output: null,
        error: { type: 'UNKNOWN', message: 'stale' },
        at: new Date(),
        reason: 'stale',
      }),
    ).toBe(false);
    expect(
      await store.appendLogs(stale.execution.fence, [
        { at: new Date(), level: 'info', nodeId: null, message: 'stale' },
      ]),
    ).toBeUndefined();
    // ASSERT
    const row = await db.pool.query(
      'select status, output, cost_total::text as cost from executions where id = $1',
      [id],
    );
    expect(row.rows[0]).toEqual({ status: 'success', output: { a: 'fresh' }, cost: '0.00000100' });
    expect((await store.loadCheckpoints(id)).map((c) => c.output)).toEqual(['fresh']);
  });

  it('does not claim a terminal execution', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    await createExecutionRepository({ pool: db.pool }).cancel(tenantId, id, new Date(), 'test');
    expect(await store.claim(id, 'w', new Date())).toEqual({ claimed: false, status: 'cancelled' });
    expect(await store.claim('missing', 'w', new Date())).toEqual({ claimed: false, status: null });
  });

  it('records cancelled node runs after an API cancel only when allowed', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const claim = await store.claim(id, 'w', new Date());
    if (!claim.claimed) throw new TypeError('no claim');
    await createExecutionRepository({ pool: db.pool }).cancel(tenantId, id, new Date(), 'test');
    const cancelled = { ...write(null), status: 'cancelled' as const };
    expect(await store.checkpoint(claim.execution.fence, cancelled)).toBeUndefined();
    expect(
      await store.checkpoint(claim.execution.fence, cancelled, [], ['running', 'cancelled']),
    ).toEqual([]);
  });

  it('lists stale pending executions for the reconciler', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const stale = await store.stalePending(new Date(Date.now() + 1000), 1000);
    expect(stale.map((s) => s.id)).toContain(id);
  });
});
