import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createFleetLocks, createLeaderLock } from './leader-lock.ts';
import type { NodeRunWrite, OrphanExecution } from '@linkflow/domain';
import { createLeaseStore, type LeaseStore } from './lease-store.ts';
import { createRecoveryRepository } from './recovery-repository.ts';
import { createRunStore } from './run-store.ts';
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
    await createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids }).create(tenantId, {
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

async function nodeStatuses(id: string): Promise<Record<string, string>> {
  const res = await db.pool.query<{ node_id: string; status: string }>(
    'select node_id, status from node_runs where execution_id = $1 order by node_id',
    [id],
  );
  return Object.fromEntries(res.rows.map((r) => [r.node_id, r.status]));
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
    const first = await store.claim(id, new Date());
    const second = await store.claim(id, new Date());
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
    const stale = await store.claim(id, new Date());
    const fresh = await store.claim(id, new Date());
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
        logs: [{ at: new Date(), level: 'info', nodeId: null, message: 'done' }],
      }),
    ).toEqual({ seqs: [2], nodeSeqs: [] });
    expect(await store.checkpoint(stale.execution.fence, write('stale'))).toBeUndefined();
    expect(
      await store.finish(stale.execution.fence, {
        status: 'failed',
        output: null,
        error: { type: 'UNKNOWN', message: 'stale' },
        at: new Date(),
        reason: 'stale',
      }),
    ).toBeUndefined();
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
    const runs = await db.pool.query('select output from node_runs where execution_id = $1', [id]);
    expect(runs.rows.map((r: { output: unknown }) => r.output)).toEqual(['fresh']);
  });

  it('returns the checkpoints, with their cost, when it re-claims a running execution', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const first = await store.claim(id, new Date());
    if (!first.claimed) throw new TypeError('no claim');
    expect(first.execution.checkpoints).toEqual([]);
    await store.checkpoint(first.execution.fence, write({ x: 1 }));
    const again = await store.claim(id, new Date());
    expect(again.claimed && again.execution.checkpoints).toEqual([
      {
        ...{ nodeId: 'a', status: 'success', output: { x: 1 }, error: null, attempts: 1 },
        ...{ iteration: -1, cost: '0.00000100' },
      },
    ]);
  });

  it('batches concurrent checkpoints of many executions into consistent per-execution log seqs', async () => {
    const store = createRunStore({ pool: db.pool });
    const ids = await Promise.all(Array.from({ length: 20 }, () => newExecution()));
    const claims = await Promise.all(ids.map((id) => store.claim(id, new Date())));
    const fences = claims
      .map((c) => (c.claimed ? c.execution.fence : undefined))
      .filter((f) => f !== undefined);
    const line = (message: string) => ({
      at: new Date(),
      level: 'info' as const,
      nodeId: 'a',
      message,
    });
    const results = await Promise.all(
      fences.flatMap((f) => [
        store.checkpoint(f, write(1), [line('one'), line('two')]),
        store.checkpoint(f, { ...write(2), nodeId: 'b' }, [line('three')]),
      ]),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(40);
    const seqs = await db.pool.query(
      'select execution_id, array_agg(seq order by seq) as seqs from execution_logs where execution_id = any($1) group by 1',
      [ids],
    );
    expect(seqs.rows.map((r: { seqs: number[] }) => r.seqs)).toEqual(ids.map(() => [1, 2, 3]));
  });

  it('fails only the bad write of a batch', async () => {
    const store = createRunStore({ pool: db.pool });
    const [good, bad] = await Promise.all([newExecution(), newExecution()]);
    const [g, b] = await Promise.all([store.claim(good, new Date()), store.claim(bad, new Date())]);
    if (!g.claimed || !b.claimed) throw new TypeError('no claim');
    const tooLong = { ...write(null), durationMs: 2 ** 40 }; // past the int column
    const [ok, failed] = await Promise.allSettled([
      store.checkpoint(g.execution.fence, write('fine')),
      store.checkpoint(b.execution.fence, tooLong),
    ]);
    expect(ok).toEqual({ status: 'fulfilled', value: [] });
    expect(failed.status).toBe('rejected');
  });

  it('writes a carried last node with the final status in one transaction, fenced', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const stale = await store.claim(id, new Date());
    const fresh = await store.claim(id, new Date());
    if (!stale.claimed || !fresh.claimed) throw new TypeError('claims failed');
    const line = (message: string) => ({
      at: new Date(),
      level: 'info' as const,
      nodeId: 'a',
      message,
    });
    const finish = (output: string) => ({
      status: 'success' as const,
      output: { a: output },
      error: null,
      at: new Date(),
      reason: 'done',
      logs: [
        { at: new Date(), level: 'info' as const, nodeId: null, message: 'execution succeeded' },
      ],
      lastNode: { run: write(output), logs: [line('node a succeeded')] },
    });
    expect(await store.finish(stale.execution.fence, finish('stale'))).toBeUndefined();
    expect(await store.finish(fresh.execution.fence, finish('fresh'))).toEqual({
      seqs: [2],
      nodeSeqs: [1],
    });
    const runs = await db.pool.query('select output from node_runs where execution_id = $1', [id]);
    expect(runs.rows.map((r: { output: unknown }) => r.output)).toEqual(['fresh']);
    const logs = await db.pool.query(
      'select seq, message from execution_logs where execution_id = $1 order by seq',
      [id],
    );
    expect(logs.rows).toEqual([
      { seq: 1, message: 'node a succeeded' },
      { seq: 2, message: 'execution succeeded' },
    ]);
  });

  it('does not claim a terminal execution', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    await createExecutionRepository({ pool: db.pool }).cancel(tenantId, id, new Date(), 'test');
    expect(await store.claim(id, new Date())).toEqual({ claimed: false, status: 'cancelled' });
    expect(await store.claim('missing', new Date())).toEqual({ claimed: false, status: null });
  });

  it('records cancelled node runs after an API cancel only when allowed', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const claim = await store.claim(id, new Date());
    if (!claim.claimed) throw new TypeError('no claim');
    await createExecutionRepository({ pool: db.pool }).cancel(tenantId, id, new Date(), 'test');
    const cancelled = { ...write(null), status: 'cancelled' as const };
    expect(await store.checkpoint(claim.execution.fence, cancelled)).toBeUndefined();
    expect(
      await store.checkpoint(claim.execution.fence, cancelled, [], ['running', 'cancelled']),
    ).toEqual([]);
  });

  it('marks unannounced nodes running for the holder only, leaving settled rows alone', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const first = await store.claim(id, new Date());
    if (!first.claimed) throw new TypeError('no claim');
    const second = await store.claim(id, new Date());
    if (!second.claimed) throw new TypeError('no re-claim');
    const statusOf = async (nodeId: string) =>
      (
        await db.pool.query<{ status: string }>(
          'select status from node_runs where execution_id = $1 and node_id = $2',
          [id, nodeId],
        )
      ).rows[0]?.status;
    // the fenced-out attempt writes nothing
    await store.markStarted(first.execution.fence, [{ nodeId: 'x', type: 'http' }], new Date());
    expect(await statusOf('x')).toBeUndefined();
    // the holder's mark lands; a settled row stays settled
    await store.checkpoint(second.execution.fence, write(1));
    const starts = [
      { nodeId: 'x', type: 'http' },
      { nodeId: 'a', type: 'transform' },
    ];
    await store.markStarted(second.execution.fence, starts, new Date());
    expect(await statusOf('x')).toBe('running');
    expect(await statusOf('a')).toBe('success');
  });

  it('records only as many roots running at the claim as max_concurrency lets start', async () => {
    const wf = await createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids }).create(
      tenantId,
      {
        name: 'many-roots',
        settings: { max_concurrency: 2 },
        nodes: ['r1', 'r2', 'r3', 'r4'].map((id) => ({
          id,
          type: 'transform',
          config: { expression: '1' },
        })),
      },
    );
    const created = await createExecutionRepository({ pool: db.pool }).create({
      id: ids.next(),
      tenantId,
      workflowId: wf.id,
      workflowVersion: 1,
      priority: 'normal',
      inputData: {},
      at: new Date(),
    });
    if (created.outcome !== 'created') throw new TypeError('not created');
    const id = created.execution.id;
    const store = createRunStore({ pool: db.pool });
    const first = await store.claim(id, new Date());
    if (!first.claimed) throw new TypeError('no claim');
    // ASSERT: two start now; the other two wait for a slot (no row yet)
    expect(await nodeStatuses(id)).toEqual({ r1: 'running', r2: 'running' });
    // a resume counts only the roots not settled yet
    await store.checkpoint(first.execution.fence, { ...write(1), nodeId: 'r1' });
    expect((await store.claim(id, new Date())).claimed).toBe(true);
    expect(await nodeStatuses(id)).toEqual({ r1: 'success', r2: 'running', r3: 'running' });
  });

  it('leaves no node run running on a dead-lettered execution', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const claim = await store.claim(id, new Date());
    if (!claim.claimed) throw new TypeError('no claim');
    expect(await nodeStatuses(id)).toEqual({ a: 'running' });
    // ACT: its worker crashed too often; the job is dead-lettered
    expect(await store.markDead(id, 'stalled too often', new Date())).toBe(true);
    // ASSERT
    const row = await db.pool.query<{ status: string; finished_at: Date | null; error: unknown }>(
      'select status, finished_at, error from node_runs where execution_id = $1',
      [id],
    );
    expect(row.rows).toEqual([
      {
        status: 'cancelled',
        finished_at: expect.any(Date),
        error: { type: 'CANCELLATION', message: 'the execution ended before the node finished' },
      },
    ]);
  });

  it('shows the nodes a recovered execution reruns as running again', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const first = await store.claim(id, new Date());
    if (!first.claimed) throw new TypeError('no claim');
    const failedA = { ...write(null), status: 'failed' as const, outputJson: null };
    await store.checkpoint(first.execution.fence, failedA);
    await store.markStarted(first.execution.fence, [{ nodeId: 'x', type: 'http' }], new Date());
    await store.markStarted(first.execution.fence, [{ nodeId: 'y', type: 'http' }], new Date());
    const error = { type: 'EXECUTION' as const, message: 'a failed', node_id: 'a' };
    const done = { status: 'failed' as const, output: null, error, at: new Date(), reason: 'x' };
    expect(await store.finish(first.execution.fence, { ...done, logs: [] })).toBeDefined();
    const recovery = createRecoveryRepository({ pool: db.pool });
    expect((await recovery.recover(tenantId, id, { at: new Date(), reason: 'test' })).outcome).toBe(
      'recovered',
    );
    expect(await nodeStatuses(id)).toEqual({ a: 'pending', x: 'pending', y: 'pending' });
    // ACT: claimed again (root `a` starts), `a` settles announcing `x`, `y` starts unannounced
    const second = await store.claim(id, new Date());
    if (!second.claimed) throw new TypeError('no re-claim');
    expect(await nodeStatuses(id)).toMatchObject({ a: 'running' });
    const starting = [{ nodeId: 'x', type: 'http' }];
    await store.checkpoint(second.execution.fence, { ...write(1), starting });
    await store.markStarted(second.execution.fence, [{ nodeId: 'y', type: 'http' }], new Date());
    // ASSERT
    expect(await nodeStatuses(id)).toEqual({ a: 'success', x: 'running', y: 'running' });
  });

  it('lists a pending execution past the grace period as an orphan', async () => {
    const leases = createLeaseStore({ pool: db.pool });
    const id = await newExecution();
    await db.pool.query(
      `update executions set created_at = now() - interval '1 minute' where id = $1`,
      [id],
    );
    const found = await allOrphans(leases, 30_000);
    expect(found.find((o) => o.id === id)).toMatchObject({ status: 'pending', priority: 'normal' });
    expect((await allOrphans(leases, 120_000)).map((o) => o.id)).not.toContain(id);
  });
});

/** Every orphan, page by page (the test database is shared with other files). */
async function allOrphans(leases: LeaseStore, pendingGraceMs: number) {
  const all: OrphanExecution[] = [];
  for (let after: OrphanExecution | undefined; ;) {
    const page = await leases.orphans({ pendingGraceMs, limit: 500, after });
    all.push(...page);
    if (page.length < 500) return all;
    after = page.at(-1);
  }
}

describe('leases', () => {
  const leaseOf = async (id: string) =>
    (
      await db.pool.query<{ lease_expires_at: Date | null; lease_owner: string | null }>(
        'select lease_expires_at, lease_owner from executions where id = $1',
        [id],
      )
    ).rows[0];

  it('leases a claimed execution and renews it in one batch for the holder only', async () => {
    const store = createRunStore({ pool: db.pool, workerId: 'w1', leaseMs: 60_000 });
    const leases = createLeaseStore({ pool: db.pool, leaseMs: 120_000 });
    const [a, b] = [await newExecution(), await newExecution()];
    const claimA = await store.claim(a, new Date());
    const claimB = await store.claim(b, new Date());
    if (!claimA.claimed || !claimB.claimed) throw new TypeError('no claim');
    const leased = await leaseOf(a);
    expect(leased?.lease_owner).toBe('w1');
    expect(leased?.lease_expires_at?.getTime()).toBeGreaterThan(Date.now() + 30_000);
    // ACT: another worker takes b over; then the first renews both
    const takeover = await createRunStore({ pool: db.pool, workerId: 'w2' }).claim(b, new Date());
    if (!takeover.claimed) throw new TypeError('no takeover');
    const { held, lost } = await leases.renew([claimA.execution.fence, claimB.execution.fence]);
    // ASSERT
    expect(held).toEqual([{ fence: claimA.execution.fence, timeoutSeconds: null }]);
    expect(lost).toEqual([
      {
        fence: claimB.execution.fence,
        status: 'running',
        attempt: claimB.execution.fence.attempt + 1,
      },
    ]);
    expect((await leaseOf(a))?.lease_expires_at?.getTime()).toBeGreaterThan(Date.now() + 90_000);
  });

  it('lists a running execution as an orphan once its lease is released or expired', async () => {
    const store = createRunStore({ pool: db.pool, leaseMs: 60_000 });
    const leases = createLeaseStore({ pool: db.pool });
    const id = await newExecution();
    const claim = await store.claim(id, new Date());
    if (!claim.claimed) throw new TypeError('no claim');
    expect((await allOrphans(leases, 0)).map((o) => o.id)).not.toContain(id);
    await leases.release(claim.execution.fence);
    expect((await allOrphans(leases, 0)).find((o) => o.id === id)?.status).toBe('running');
  });
});

describe('run store under connection loss', () => {
  it('rejects a final write whose connection Postgres cuts mid-transaction, and stays up', async () => {
    // ARRANGE: another session holds the execution's row lock, so the finish transaction
    // (carried last node + final status) waits inside Postgres on it.
    const pool = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
    const store = createRunStore({ pool: pool.pool });
    const id = await newExecution();
    const claim = await store.claim(id, new Date());
    if (!claim.claimed) throw new TypeError('claim failed');
    const holder = await db.pool.connect();
    try {
      await holder.query('begin');
      await holder.query('select id from executions where id = $1 for update', [id]);
      const finishing = store.finish(claim.execution.fence, {
        status: 'success',
        output: {},
        error: null,
        at: new Date(),
        reason: 'done',
        logs: [],
        lastNode: { run: write('x'), logs: [] },
      });
      // ACT: terminate the waiting backend, as an operator or a failover would.
      await expect
        .poll(
          async () => {
            const r = await db.pool.query(
              `select pg_terminate_backend(pid) as killed from pg_stat_activity
              where wait_event_type = 'Lock' and datname = current_database()
                and query like '%node_runs%' and pid <> pg_backend_pid()`,
            );
            return r.rowCount ?? 0;
          },
          { timeout: 10_000 },
        )
        .toBeGreaterThan(0);
      // ASSERT: the write fails as a rejection (the caller retries), not a process crash.
      await expect(finishing).rejects.toBeDefined();
    } finally {
      await holder.query('rollback');
      holder.release();
      await pool.close();
    }
    const row = await db.pool.query('select status from executions where id = $1', [id]);
    expect(row.rows[0]).toEqual({ status: 'running' });
  });
});

describe('leader lock', () => {
  it('names the fleet locks per queue and shows their holder in pg_stat_activity', async () => {
    const queueName = `q-${randomUUID()}`;
    const options = {
      ...{ url: testDatabaseUrl(), queueName, onError: () => undefined },
      ...{ sweeperStaleAfterMs: 60_000, retentionStaleAfterMs: 60_000 },
    };
    const mine = createFleetLocks({ ...options, workerId: 'w-1' });
    const theirs = createFleetLocks({ ...options, workerId: 'w-2' });
    const other = createFleetLocks({ ...options, workerId: 'w-3', queueName: `${queueName}-b` });
    try {
      expect(await mine.sweeper.hold()).toBe(true);
      // Same queue: excluded; another queue: its own sweeper lock.
      expect(await theirs.sweeper.hold()).toBe(false);
      expect(await other.sweeper.hold()).toBe(true);
      const apps = await db.pool.query<{ application_name: string }>(
        `select application_name from pg_stat_activity where application_name like 'linkflow-sweeper:w-%'`,
      );
      expect(apps.rows.map((r) => r.application_name)).toEqual(
        expect.arrayContaining(['linkflow-sweeper:w-1', 'linkflow-sweeper:w-3']),
      );
    } finally {
      for (const locks of [mine, theirs, other])
        await Promise.all([locks.sweeper.release(), locks.retention.release()]);
    }
  });

  it('lets one holder at a time have it, and passes it on when the holder goes', async () => {
    const name = `test-${randomUUID()}`;
    const first = createLeaderLock({ url: testDatabaseUrl(), name, staleAfterMs: 60_000 });
    const second = createLeaderLock({ url: testDatabaseUrl(), name, staleAfterMs: 60_000 });
    try {
      expect(await first.hold()).toBe(true);
      expect(await second.hold()).toBe(false);
      expect(await first.hold()).toBe(true);
      await first.release();
      expect(await second.hold()).toBe(true);
    } finally {
      await first.release();
      await second.release();
    }
  });

  it('passes the lock on when its holder goes quiet (a frozen process keeps its session)', async () => {
    const name = `test-${randomUUID()}`;
    const frozen = createLeaderLock({ url: testDatabaseUrl(), name, staleAfterMs: 1_000 });
    const other = createLeaderLock({ url: testDatabaseUrl(), name, staleAfterMs: 1_000 });
    try {
      expect(await frozen.hold()).toBe(true);
      expect(await other.hold()).toBe(false);
      // The frozen holder never calls hold() again; its idle session is ended by the server.
      await expect.poll(() => other.hold(), { timeout: 10_000, interval: 300 }).toBe(true);
      expect(await frozen.hold()).toBe(false);
    } finally {
      await frozen.release();
      await other.release();
    }
  });
});
