import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadLetterQueue } from '@linkflow/queue';
import { createRecoveryRepository, createRunStore } from '@linkflow/store';
import {
  createScratchDatabase,
  type ScratchDatabase,
} from '../../../../scripts/scratch-database.ts';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { killed, useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

const e2e = useChildExecutorSuite('life', process.env);
const { executors, callsWith } = e2e;

describe('shutdown after the grace period', () => {
  it(
    'leaves the running execution non-terminal and a new executor resumes it',
    { timeout: 60_000 },
    async () => {
      //  first(count) -> slow(2.5 s) -> last(count)
      const h = await createExecutorHarness();
      try {
        const count = (id: string) => n.http(id, `${e2e.srv.url}/count/{{ execution.id }}-${id}`);
        const wf = await h.createWorkflow({
          name: 'shutdown',
          nodes: [
            count('first'),
            n.http('slow', `${e2e.srv.url}/slow?ms=2500&k={{ execution.id }}`),
            count('last'),
          ],
          edges: [
            { from: 'first', to: 'slow' },
            { from: 'slow', to: 'last' },
          ],
        });
        const executor = await h.startExecutor();
        const id = await h.start(wf);
        await expect.poll(() => callsWith(`slow?ms=2500&k=${id}`), { timeout: 15_000 }).toBe(1);
        // ACT: the grace period (300 ms) ends while `slow` is in flight
        await executor.stop(300);
        // ASSERT: not terminal, and the interrupted node is not recorded as settled (it stays
        // `running`: the execution resumes elsewhere and runs it again)
        const stopped = await h.get(id);
        expect(stopped.status).toBe('running');
        expect(stopped.nodeRuns.map((r) => `${r.nodeId}:${r.status}`)).toEqual([
          'first:success',
          'slow:running',
        ]);
        await h.startExecutor();
        const done = await h.waitFor(id, ['success', 'failed', 'cancelled'], 30_000);
        expect(done.status).toBe('success');
        expect(done.output).toEqual({ last: expect.objectContaining({ status: 200 }) });
        expect(e2e.srv.counts.get(`count/${id}-first`)).toBe(1);
        expect(callsWith(`slow?ms=2500&k=${id}`)).toBe(2);
      } finally {
        await h.close();
      }
    },
  );
});

describe('leases and the sweeper', () => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await createScratchDatabase({ baseUrl: testDatabaseUrl(), prefix: 'lf_sweep' });
  }, 120_000);
  afterAll(async () => {
    await scratch.drop();
  });

  it(
    'finishes a running execution whose Redis state was deleted and whose executor was killed',
    { timeout: 90_000 },
    async () => {
      // A scratch database: the sweeper scans every execution, other test files' included.
      const h = await createExecutorHarness(
        { EXECUTOR_LEASE_MS: '1500', EXECUTOR_RECONCILE_AFTER_MS: '1000' },
        { databaseUrl: scratch.url },
      );
      try {
        //  first(count) -> slow(3 s) -> last(count)
        const count = (id: string) => n.http(id, `${e2e.srv.url}/count/{{ execution.id }}-${id}`);
        const wf = await h.createWorkflow({
          name: 'flushed',
          nodes: [
            count('first'),
            n.http('slow', `${e2e.srv.url}/slow?ms=3000&k={{ execution.id }}`),
            count('last'),
          ],
          edges: [
            { from: 'first', to: 'slow' },
            { from: 'slow', to: 'last' },
          ],
        });
        const id = await h.start(wf);
        const child = executors.spawn(h);
        await expect.poll(() => callsWith(`slow?ms=3000&k=${id}`), { timeout: 30_000 }).toBe(1);
        const lease = await h.db.pool.query<{ lease_expires_at: Date | null }>(
          'select lease_expires_at from executions where id = $1',
          [id],
        );
        expect(lease.rows[0]?.lease_expires_at).toBeInstanceOf(Date);
        // ACT: Redis loses the queue (only this test's keys), then the executor dies
        await deleteQueueKeys(h);
        await killed(child);
        await h.startExecutor({ EXECUTOR_RECONCILE_INTERVAL_MS: '300' });
        // ASSERT
        const done = await h.waitFor(id, ['success', 'failed', 'cancelled'], 60_000);
        expect(done.status).toBe('success');
        expect(e2e.srv.counts.get(`count/${id}-first`)).toBe(1);
        expect(e2e.srv.counts.get(`count/${id}-last`)).toBe(1);
      } finally {
        await h.close();
      }
    },
  );

  it(
    'dead-letters an execution whose job failed for good but was never dead-lettered',
    { timeout: 60_000 },
    async () => {
      const h = await createExecutorHarness(
        { EXECUTOR_RECONCILE_AFTER_MS: '500' },
        { databaseUrl: scratch.url },
      );
      const dlq = createDeadLetterQueue({ connection: h.redis, name: h.queueName });
      try {
        const id = await h.start(
          await h.createWorkflow({ name: 'gap', nodes: [n.transform('a', '1')] }),
        );
        // ARRANGE: the job fails for good on a worker that dies before dead-lettering it
        // (a bare BullMQ worker with no failed handler stands in for it)
        const connection = h.redis.duplicate({ maxRetriesPerRequest: null });
        const bare = new Worker(
          h.queueName,
          () => Promise.reject(new UnrecoverableError('infrastructure gave up')),
          { connection },
        );
        await expect
          .poll(async () => (await h.queue.getJob(id))?.failedReason, { timeout: 10_000 })
          .toBe('infrastructure gave up');
        await bare.close();
        connection.disconnect();
        // ACT
        await h.startExecutor({ EXECUTOR_RECONCILE_INTERVAL_MS: '300' });
        // ASSERT
        const e = await h.waitFor(id, ['success', 'failed', 'cancelled'], 20_000);
        expect(e.status).toBe('failed');
        expect(e.error?.message).toBe('dead-lettered: infrastructure gave up');
        expect((await dlq.queue.getJob(id))?.data.reason).toBe('infrastructure gave up');
      } finally {
        await dlq.queue.obliterate({ force: true });
        await dlq.close();
        await h.close();
      }
    },
  );
  it(
    'runs a dead-lettered execution recovered while Redis was down instead of dead-lettering it again',
    { timeout: 60_000 },
    async () => {
      const h = await createExecutorHarness(
        { EXECUTOR_RECONCILE_AFTER_MS: '500' },
        { databaseUrl: scratch.url },
      );
      try {
        const id = await h.start(
          await h.createWorkflow({ name: 'revived', nodes: [n.transform('a', '41 + 1')] }),
        );
        // ARRANGE: the job fails for good and the execution is dead-lettered (failed) ...
        const connection = h.redis.duplicate({ maxRetriesPerRequest: null });
        const bare = new Worker(
          h.queueName,
          () => Promise.reject(new UnrecoverableError('infrastructure gave up')),
          { connection },
        );
        await expect
          .poll(async () => (await h.queue.getJob(id))?.failedReason, { timeout: 10_000 })
          .toBe('infrastructure gave up');
        await bare.close();
        connection.disconnect();
        await createRunStore({ pool: h.db.pool }).markDead(
          id,
          'infrastructure gave up',
          new Date(),
        );
        // ... then recovered while Redis was down: pending in Postgres, its enqueue never
        // happened, and the old failed job is still in Redis.
        const recovered = await createRecoveryRepository({ pool: h.db.pool }).recover(
          h.tenantId,
          id,
          { at: new Date(), reason: 'recovered by request' },
        );
        expect(recovered.outcome).toBe('recovered');
        // ACT: the reconciler finds it
        await h.startExecutor({ EXECUTOR_RECONCILE_INTERVAL_MS: '300' });
        // ASSERT: it runs (the stale failed job is not a reason to fail it again)
        const e = await h.waitFor(id, ['success', 'failed', 'cancelled'], 20_000);
        expect(e.status).toBe('success');
        expect(e.output).toEqual({ a: 42 });
      } finally {
        await h.close();
      }
    },
  );
});

async function deleteQueueKeys(h: ExecutorHarness): Promise<void> {
  const keys = await h.redis.keys(`bull:${h.queueName}:*`);
  if (keys.length > 0) await h.redis.del(...keys);
}
