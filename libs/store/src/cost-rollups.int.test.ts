import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinishRequest, NodeRunWrite } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { readCostReport, type CostGroupBy } from './cost-report-repository.ts';
import { COST_BUCKETS_PER_OCTAVE } from './cost-rollup-sql.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createRecoveryRepository } from './recovery-repository.ts';
import { createRetentionStore } from './retention-store.ts';
import { createRunStore } from './run-store.ts';
import { createWorkflowRepository } from './workflow-repository.ts';

// Cost rollups written by the real terminal writes (run store finish, API cancel, recovery)
// and read by the report. Every execution here is created in January 1999 (its UTC day is its
// rollup key) and every report reads a window there, so other files' executions never count.
// The retention test runs last: it deletes this file's executions.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Midnight UTC of the first day the executions of this file are created on. */
const D0 = Date.parse('1999-01-10T00:00:00Z');
/** A p95 is off by less than one cost bucket: a factor 2^(1/8). */
const BUCKET_FACTOR = 2 ** (1 / COST_BUCKETS_PER_OCTAVE);

let db: Db;
const ids = { next: () => randomUUID() };
const t = { a: '', b: '' };
const wf = { a1: '', a2: '', b1: '' };

async function newWorkflow(tenantId: string, name: string): Promise<string> {
  const repo = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
  const created = await repo.create(tenantId, {
    name,
    nodes: [
      { id: 'fetch', type: 'http', config: { url: 'http://x' } },
      { id: 'shape', type: 'transform', config: { expression: '1' } },
    ],
    edges: [{ from: 'fetch', to: 'shape' }],
  });
  return created.id;
}

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 3 });
  const keys = createApiKeyRepository({ prisma: db.prisma, ids });
  t.a = await keys.ensureTenant(`t-${randomUUID()}`);
  t.b = await keys.ensureTenant(`t-${randomUUID()}`);
  wf.a1 = await newWorkflow(t.a, 'a1');
  wf.a2 = await newWorkflow(t.a, 'a2');
  wf.b1 = await newWorkflow(t.b, 'b1');
});
afterAll(async () => db.close());

interface NodeSpec {
  readonly nodeId: string;
  readonly cost: string;
  readonly attempts?: number;
  readonly outputBytes?: number;
}

const nodeWrite = (n: NodeSpec, at: Date): NodeRunWrite => ({
  nodeId: n.nodeId,
  type: n.nodeId === 'fetch' ? 'http' : 'transform',
  status: 'success',
  attempts: n.attempts ?? 1,
  startedAt: at,
  finishedAt: at,
  durationMs: 1,
  outputJson: '{}',
  outputBytes: n.outputBytes ?? 2,
  error: null,
  attemptLog: [],
  usage: null,
  cost: n.cost,
});

/** Creates an execution at `createdAt` and claims it; returns its fence. */
async function started(tenantId: string, workflowId: string, createdAt: number) {
  const created = await createExecutionRepository({ pool: db.pool }).create({
    id: ids.next(),
    tenantId,
    workflowId,
    workflowVersion: 1,
    priority: 'normal',
    inputData: {},
    at: new Date(createdAt),
  });
  if (created.outcome !== 'created') throw new TypeError('not created');
  const claim = await createRunStore({ pool: db.pool }).claim(created.execution.id, new Date());
  if (!claim.claimed) throw new TypeError('not claimed');
  return claim.execution.fence;
}

/** An execution run to `status` through the run store: node checkpoints, then the final write. */
async function ran(e: {
  tenant: string;
  workflow: string;
  createdAt: number;
  nodes: readonly NodeSpec[];
  status?: FinishRequest['status'];
}): Promise<string> {
  const store = createRunStore({ pool: db.pool });
  const fence = await started(e.tenant, e.workflow, e.createdAt);
  const at = new Date(e.createdAt + 60_000);
  for (const n of e.nodes) await store.checkpoint(fence, nodeWrite(n, at));
  const done = await store.finish(fence, finishRequest(e.status ?? 'success', at));
  if (!done) throw new TypeError('not finished');
  return fence.executionId;
}

const finishRequest = (status: FinishRequest['status'], at: Date) => ({
  status,
  output: {},
  error: status === 'failed' ? { type: 'UNKNOWN' as const, message: 'boom', node_id: null } : null,
  at,
  reason: 'done',
  logs: [],
});

/** Costs as 8-decimal strings from whole 1e-8 USD units. */
const usd = (units: number): string => (units / 1e8).toFixed(8);

interface Window {
  readonly from: number;
  readonly to: number;
  readonly groupBy?: CostGroupBy;
  /** Absent: tenant A; present and undefined: every tenant (an admin key). */
  readonly tenantId?: string | undefined;
}

const report = (q: Window) =>
  readCostReport(db.pool, {
    groupBy: q.groupBy ?? 'workflow',
    tenantId: 'tenantId' in q ? q.tenantId : t.a,
    from: new Date(q.from),
    to: new Date(q.to),
  });

/** What the live tables say (percentile_cont over every execution of the window). */
async function reference(workflowId: string, from: number, to: number) {
  const res = await db.pool.query<{ n: number; total: string; p95: number }>(
    `select count(*)::int as n, sum(cost_total)::text as total,
       percentile_cont(0.95) within group (order by cost_total::float8) as p95
     from executions where workflow_id = $1 and created_at >= $2 and created_at <= $3`,
    [workflowId, new Date(from), new Date(to)],
  );
  return res.rows[0];
}

describe('cost rollups', () => {
  it('count, sum and average exactly and place p95 within one bucket, read from whole days', async () => {
    // ARRANGE: 30 runs of a1 over days 1 and 2 costing k² × 1e-5 USD (k = 1..30), fetch
    // 90 % of each, a third of them failed: spread over many buckets.
    for (let k = 1; k <= 30; k += 1) {
      const units = k * k * 1000;
      await ran({
        tenant: t.a,
        workflow: wf.a1,
        createdAt: D0 + (k % 2 === 0 ? 1 : 2) * DAY + k * 60_000,
        status: k % 3 === 0 ? 'failed' : 'success',
        nodes: [
          { nodeId: 'fetch', cost: usd(units * 0.9), attempts: k <= 12 ? 2 : 1 },
          { nodeId: 'shape', cost: usd(units * 0.1), outputBytes: 1000 },
        ],
      });
    }
    // ACT: a window of whole days only (midnight to midnight): everything from the rollups
    const window = { from: D0, to: D0 + 4 * DAY };
    const r = await report(window);
    // ASSERT
    const ref = await reference(wf.a1, window.from, window.to);
    const a1 = r.groups.find((g) => g.id === wf.a1);
    expect(a1).toMatchObject({ executions: 30, total: ref?.total, name: 'a1' });
    expect(a1?.total).toBe(usd(1000 * ((30 * 31 * 61) / 6)));
    expect(a1?.average).toBe(usd((1000 * ((30 * 31 * 61) / 6)) / 30));
    const p95 = Number(a1?.p95);
    expect(p95).toBeGreaterThan((ref?.p95 ?? 0) / BUCKET_FACTOR);
    expect(p95).toBeLessThan((ref?.p95 ?? 0) * BUCKET_FACTOR);
    const fetch = r.topNodes.find((n) => n.workflowId === wf.a1 && n.nodeId === 'fetch');
    expect(fetch).toMatchObject({ runs: 30, retriedRuns: 12, type: 'http', share: 0.9 });
    const shape = r.topNodes.find((n) => n.workflowId === wf.a1 && n.nodeId === 'shape');
    expect(shape).toMatchObject({ runs: 30, retriedRuns: 0, avgOutputBytes: 1000 });
  });

  it('is exact for p95 when the ranks fall in buckets of one cost, like the live tables', async () => {
    // ARRANGE: 19 runs of a2 at 0.001 and one at 1 USD on day 3
    for (let k = 0; k < 20; k += 1)
      await ran({
        tenant: t.a,
        workflow: wf.a2,
        createdAt: D0 + 3 * DAY + k * 60_000,
        nodes: [{ nodeId: 'fetch', cost: k === 19 ? '1.00000000' : '0.00100000' }],
      });
    // ACT
    const r = await report({ from: D0 + 3 * DAY, to: D0 + 4 * DAY });
    // ASSERT: h = 0.95 × 19 = 18.05 → 0.001 + 0.05 × (1 - 0.001), as percentile_cont says
    const ref = await reference(wf.a2, D0 + 3 * DAY, D0 + 4 * DAY);
    expect(r.groups).toEqual([
      {
        id: wf.a2,
        name: 'a2',
        executions: 20,
        total: '1.01900000',
        average: '0.05095000',
        p95: ref?.p95.toFixed(8),
      },
    ]);
    expect(ref?.p95.toFixed(8)).toBe('0.05095000');
  });

  it('groups and ranks over a period: whole days from rollups, partial end days live', async () => {
    // ARRANGE: b1 on day 1 (whole day in the window); a2 at 18:00 the day before day 0
    // (inside a window opening at 12:00 that day) and at 06:00 (outside); a1 on day 5 at
    // 03:00 (inside a window closing at 06:00) and at 09:00 (outside).
    await ran({ tenant: t.b, workflow: wf.b1, createdAt: D0 + DAY + HOUR, nodes: fetchOnly(5) });
    for (const at of [
      D0 - 6 * HOUR,
      D0 - 18 * HOUR,
      D0 + 5 * DAY + 3 * HOUR,
      D0 + 5 * DAY + 9 * HOUR,
    ])
      await ran({
        tenant: t.a,
        workflow: at < D0 ? wf.a2 : wf.a1,
        createdAt: at,
        nodes: fetchOnly(7),
      });
    const window = { from: D0 - 12 * HOUR, to: D0 + 5 * DAY + 6 * HOUR };
    // ACT
    const byWorkflow = await report(window);
    const byTenant = await report({ ...window, groupBy: 'tenant', tenantId: undefined });
    // ASSERT: a2 (20 runs of day 3 + 1 live) and a1 (30 + 1 live), ranked by total
    const ref1 = await reference(wf.a1, window.from, window.to);
    const ref2 = await reference(wf.a2, window.from, window.to);
    expect(byWorkflow.groups.map((g) => [g.id, g.executions, g.total])).toEqual(
      [
        [wf.a1, 31, ref1?.total],
        [wf.a2, 21, ref2?.total],
      ].sort((x, y) => Number(y[2]) - Number(x[2])),
    );
    expect(byWorkflow.topNodes.map((n) => [n.workflowId, n.nodeId])).toEqual([
      [wf.a2, 'fetch'],
      [wf.a1, 'fetch'],
      [wf.a1, 'shape'],
    ]);
    const ours = byTenant.groups.filter((g) => g.id === t.a || g.id === t.b);
    expect(ours.map((g) => [g.id, g.executions])).toEqual([
      [t.a, 52],
      [t.b, 1],
    ]);
  });

  it('keeps tenants apart: a tenant sees only its own groups and nodes', async () => {
    const window = { from: D0 - DAY, to: D0 + 6 * DAY };
    const b = await report({ ...window, tenantId: t.b });
    expect(b.groups.map((g) => [g.id, g.executions, g.total])).toEqual([[wf.b1, 1, usd(5)]]);
    expect(b.topNodes.map((n) => n.workflowId)).toEqual([wf.b1]);
    const a = await report({ ...window, tenantId: t.a, groupBy: 'tenant' });
    expect(a.groups.map((g) => g.id)).toEqual([t.a]);
    expect(JSON.stringify(a)).not.toContain(wf.b1);
  });

  it('counts an execution once when its final write is retried, replayed or raced', async () => {
    // ARRANGE: b1 run on day 2, finished; then the same final write again (a retry after a
    // lost reply), a stale holder's, a dead-letter and a cancel of the finished run.
    const store = createRunStore({ pool: db.pool });
    const fence = await started(t.b, wf.b1, D0 + 2 * DAY);
    const at = new Date(D0 + 2 * DAY + 60_000);
    await store.checkpoint(fence, nodeWrite({ nodeId: 'fetch', cost: usd(11) }, at));
    expect(await store.finish(fence, finishRequest('success', at))).toBeDefined();
    // ACT
    expect(await store.finish(fence, finishRequest('success', at))).toBeUndefined();
    expect(
      await store.finish({ ...fence, attempt: fence.attempt - 1 }, finishRequest('failed', at)),
    ).toBeUndefined();
    expect(await store.markDead(fence.executionId, 'replayed', at)).toBe(false);
    await createExecutionRepository({ pool: db.pool }).cancel(t.b, fence.executionId, at, 'late');
    // ASSERT
    const r = await report({ from: D0 + 2 * DAY, to: D0 + 3 * DAY, tenantId: t.b });
    expect(r.groups.map((g) => [g.executions, g.total])).toEqual([[1, usd(11)]]);
    expect(r.topNodes.map((n) => n.runs)).toEqual([1]);
  });

  it('takes a recovered execution out and counts its new ending; adds node runs written after a cancel', async () => {
    // ARRANGE: a failed b1 run on day 4, recovered and run again at a new cost
    const store = createRunStore({ pool: db.pool });
    const id = await ran({
      tenant: t.b,
      workflow: wf.b1,
      createdAt: D0 + 4 * DAY,
      nodes: fetchOnly(100),
      status: 'failed',
    });
    const day4 = { from: D0 + 4 * DAY, to: D0 + 5 * DAY, tenantId: t.b };
    expect((await report(day4)).groups.map((g) => g.total)).toEqual([usd(100)]);
    const recovery = createRecoveryRepository({ pool: db.pool });
    const recovered = await recovery.recover(t.b, id, { at: new Date(), reason: 'retry' });
    expect(recovered.outcome).toBe('recovered');
    // ACT 1: while pending again it is read live, at its stored total
    expect((await report(day4)).groups.map((g) => g.executions)).toEqual([1]);
    const claim = await store.claim(id, new Date());
    if (!claim.claimed) throw new TypeError('not claimed');
    const at = new Date(D0 + 4 * DAY + HOUR);
    await store.checkpoint(
      claim.execution.fence,
      nodeWrite({ nodeId: 'fetch', cost: usd(40) }, at),
    );
    await store.finish(claim.execution.fence, finishRequest('success', at));
    // ASSERT 1: one execution at its new cost
    const after = await report(day4);
    expect(after.groups.map((g) => [g.executions, g.total])).toEqual([[1, usd(40)]]);
    expect(after.topNodes.map((n) => [n.runs, n.total])).toEqual([[1, usd(40)]]);
    // ACT 2: a running b1 run on day 4 cancelled by the API; its executor records the node
    // it aborted afterwards
    const fence = await started(t.b, wf.b1, D0 + 4 * DAY + 2 * HOUR);
    await createExecutionRepository({ pool: db.pool }).cancel(t.b, fence.executionId, at, 'stop');
    await store.checkpoint(
      fence,
      nodeWrite({ nodeId: 'fetch', cost: usd(3), attempts: 2 }, at),
      [],
      ['cancelled'],
    );
    // ASSERT 2: the cancelled run counts at its stored total (0); its node run is added
    const cancelled = await report(day4);
    expect(cancelled.groups.map((g) => [g.executions, g.total])).toEqual([[2, usd(40)]]);
    expect(cancelled.topNodes.map((n) => [n.runs, n.retriedRuns, n.total])).toEqual([
      [2, 1, usd(43)],
    ]);
  });

  it('survives retention: the report of purged (even deleted) executions is unchanged', async () => {
    // ARRANGE
    const window = { from: D0, to: D0 + 5 * DAY, tenantId: undefined };
    const before = await report(window);
    const ours = (r: typeof before) => ({
      groups: r.groups.filter((g) => [wf.a1, wf.a2, wf.b1].includes(g.id)),
      nodes: r.topNodes.filter((n) => [wf.a1, wf.a2, wf.b1].includes(n.workflowId)),
    });
    // ACT: every execution of this file finished in January 1999; the 30 that finished first
    // lose their node runs and logs, then the others are deleted outright
    const retention = createRetentionStore({ pool: db.pool });
    const cutoff = new Date('1999-06-01T00:00:00Z');
    await retention.purge({ before: cutoff, limit: 30, deleteExecutions: false });
    const purged = await report(window);
    await retention.purge({ before: cutoff, limit: 10_000, deleteExecutions: true });
    const deleted = await report(window);
    // ASSERT
    const left = await db.pool.query<{ purged: boolean; n: number }>(
      `select purged_at is not null as purged, count(*)::int as n from executions
       where workflow_id = any($1) group by 1`,
      [[wf.a1, wf.a2, wf.b1]],
    );
    expect(left.rows).toEqual([{ purged: true, n: 30 }]);
    expect(ours(before).groups).toHaveLength(3);
    expect(ours(purged)).toEqual(ours(before));
    expect(ours(deleted)).toEqual(ours(before));
  });
});

function fetchOnly(units: number): NodeSpec[] {
  return [{ nodeId: 'fetch', cost: usd(units) }];
}
