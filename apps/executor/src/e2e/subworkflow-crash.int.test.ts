import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutionRepository, createRecoveryRepository } from '@linkflow/store';
import {
  createScratchDatabase,
  type ScratchDatabase,
} from '../../../../scripts/scratch-database.ts';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { killed, useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

// Subworkflows across crashes, timeouts and lost wake-ups. A child workflow tagged
// `worker_tags: ['nowhere']` is never taken by these executors: its parent stays parked on a
// live child for as long as a test wants, and the test ends the child itself.
const e2e = useChildExecutorSuite('subwf', process.env);

let scratch: ScratchDatabase;
beforeAll(async () => {
  // A scratch database: the sweeper scans every execution, other test files' included.
  scratch = await createScratchDatabase({ baseUrl: testDatabaseUrl(), prefix: 'lf_subwf' });
}, 120_000);
afterAll(async () => scratch.drop());

async function withHarness(test: (h: ExecutorHarness) => Promise<void>): Promise<void> {
  const h = await createExecutorHarness(
    { EXECUTOR_RECONCILE_AFTER_MS: '500', EXECUTOR_CONCURRENCY: '1' },
    { databaseUrl: scratch.url },
  );
  try {
    await test(h);
  } finally {
    await h.close();
  }
}

const sub = (id: string, workflowId: string) => ({
  id,
  type: 'subworkflow',
  config: { workflow_id: workflowId, input: { from: 'parent' } },
});

interface Row {
  id: string;
  status: string;
  attempt: number;
  parked_at: Date | null;
}

async function row(h: ExecutorHarness, id: string): Promise<Row> {
  const res = await h.db.pool.query<Row>(
    'select id, status, attempt, parked_at from executions where id = $1',
    [id],
  );
  if (!res.rows[0]) throw new TypeError(`no execution ${id}`);
  return res.rows[0];
}

async function childOf(h: ExecutorHarness, parentId: string): Promise<Row> {
  await expect
    .poll(
      async () =>
        (
          await h.db.pool.query('select 1 from executions where parent_execution_id = $1', [
            parentId,
          ])
        ).rowCount,
      { timeout: 15_000 },
    )
    .toBe(1);
  const res = await h.db.pool.query<{ id: string }>(
    'select id from executions where parent_execution_id = $1',
    [parentId],
  );
  return row(h, res.rows[0]?.id ?? '');
}

/** A parent whose child nobody runs, parked on it by an executor of the harness. */
async function parkedParent(h: ExecutorHarness, timeoutSeconds?: number) {
  const stuck = await h.createWorkflow({
    name: 'stuck',
    nodes: [n.transform('x', "'never runs here'")],
    settings: { worker_tags: ['nowhere'] },
  });
  const parent = await h.createWorkflow({
    name: 'waits',
    nodes: [sub('call', stuck), n.transform('after', 'nodes.call')],
    edges: [{ from: 'call', to: 'after' }],
  });
  const id = await h.start(parent, {}, timeoutSeconds === undefined ? {} : { timeoutSeconds });
  await h.startExecutor({ EXECUTOR_RECONCILE_INTERVAL_MS: '300' });
  await expect.poll(async () => (await row(h, id)).parked_at, { timeout: 15_000 }).not.toBeNull();
  return { id, child: await childOf(h, id) };
}

describe('subworkflow recovery', () => {
  it(
    'leaves a parked parent alone while its child is live, and re-enqueues it once the child ended without waking it',
    { timeout: 60_000 },
    async () => {
      await withHarness(async (h) => {
        // ARRANGE: parked on a live (pending, never taken) child, through several sweeps
        const { id, child } = await parkedParent(h);
        const before = await row(h, id);
        await new Promise((r) => setTimeout(r, 1_500));
        expect(await row(h, id)).toMatchObject({ status: 'running', attempt: before.attempt });
        // ACT: the child ends with no wake-up (its executor died between the final write
        // and the parent's enqueue)
        await h.db.pool.query(
          `update executions set status = 'success', output = '{"x": "done elsewhere"}', finished_at = now()
           where id = $1`,
          [child.id],
        );
        // ASSERT: the sweeper enqueues the parent, which settles the node from the child
        const done = await h.waitFor(id, ['success', 'failed', 'cancelled'], 20_000);
        expect(done.status).toBe('success');
        expect(done.output).toEqual({ after: { x: 'done elsewhere' } });
      });
    },
  );

  it(
    'fails a parked parent with TIMEOUT when its timeout passes, and cancels the child',
    { timeout: 60_000 },
    async () => {
      await withHarness(async (h) => {
        const { id, child } = await parkedParent(h, 2);
        // ACT: nothing; the parent's deadline passes while it waits
        const done = await h.waitFor(id, ['success', 'failed', 'cancelled'], 20_000);
        // ASSERT
        expect(done.status).toBe('failed');
        expect(done.error?.type).toBe('TIMEOUT');
        // the resumed run times out before the waiting node starts again: it ends cancelled
        expect(done.nodeRuns.find((r) => r.nodeId === 'call')?.status).toBe('cancelled');
        await expect.poll(async () => (await row(h, child.id)).status).toBe('cancelled');
      });
    },
  );

  it(
    'starts a new child for a parent recovered after its timeout cancelled the child, and cancels that one on the next timeout',
    { timeout: 60_000 },
    async () => {
      await withHarness(async (h) => {
        const { id, child } = await parkedParent(h, 2);
        expect((await h.waitFor(id, ['failed'], 20_000)).error?.type).toBe('TIMEOUT');
        await expect.poll(async () => (await row(h, child.id)).status).toBe('cancelled');
        // ACT: recovered (its 2 s timeout counts again from the new start)
        const change = { at: new Date(), reason: 'recovered by request' };
        await createRecoveryRepository({ pool: h.db.pool }).recover(h.tenantId, id, change);
        await h.queue.requeue({ executionId: id, tenantId: h.tenantId, priority: 'normal' });
        // ASSERT: a second child of the same node; the second timeout cancels it too
        const children = async () =>
          (
            await h.db.pool.query<{ id: string; status: string }>(
              `select id, status from executions where parent_execution_id = $1
               order by parent_attempt nulls first`,
              [id],
            )
          ).rows;
        await expect.poll(async () => (await children()).length, { timeout: 15_000 }).toBe(2);
        const done = await h.waitFor(id, ['success', 'failed', 'cancelled'], 20_000);
        expect(done.error?.type).toBe('TIMEOUT');
        await expect
          .poll(async () => (await children()).map((c) => c.status))
          .toEqual(['cancelled', 'cancelled']);
        expect((await children())[0]?.id).toBe(child.id);
      });
    },
  );

  it(
    'cancels the children of a parent cancelled while parked (the sweeper finishes the cascade)',
    { timeout: 60_000 },
    async () => {
      await withHarness(async (h) => {
        const { id, child } = await parkedParent(h);
        // ACT: the parent is cancelled in Postgres only (as if the API died before its cascade)
        const cancelled = await createExecutionRepository({ pool: h.db.pool }).cancel(
          h.tenantId,
          id,
          new Date(),
          'cancelled by request',
        );
        expect(cancelled.outcome).toBe('changed');
        // ASSERT
        await expect
          .poll(async () => (await row(h, child.id)).status, { timeout: 15_000 })
          .toBe('cancelled');
      });
    },
  );

  it(
    'finishes the parent when the executor running the child is killed mid-child',
    { timeout: 90_000 },
    async () => {
      await withHarness(async (h) => {
        // ARRANGE: the child's node takes 4 s on a killable executor with one slot
        const slow = await h.createWorkflow({
          name: 'slow-child',
          nodes: [n.http('wait', `${e2e.srv.url}/slow?ms=4000`)],
        });
        const parent = await h.createWorkflow({
          name: 'parent-of-slow',
          nodes: [sub('call', slow), n.transform('after', 'nodes.call.wait.body.slept')],
          edges: [{ from: 'call', to: 'after' }],
        });
        const id = await h.start(parent);
        const doomed = e2e.executors.spawn(h, { EXECUTOR_CONCURRENCY: '1' });
        const child = await childOf(h, id);
        await expect
          .poll(() => e2e.callsWith('/slow?ms=4000'), { timeout: 20_000, interval: 50 })
          .toBe(1);
        expect((await row(h, id)).parked_at).not.toBeNull();
        // ACT: kill -9 while the child runs, then another executor takes over
        await killed(doomed);
        await h.startExecutor({ EXECUTOR_RECONCILE_INTERVAL_MS: '300' });
        // ASSERT
        const done = await h.waitFor(id, ['success', 'failed', 'cancelled'], 40_000);
        expect(done.status).toBe('success');
        expect(done.output).toEqual({ after: 4000 });
        expect((await row(h, child.id)).status).toBe('success');
      });
    },
  );
});
