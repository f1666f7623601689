import { describe, expect, it } from 'vitest';
import { createDeadLetterQueue } from '@linkflow/queue';
import { killed, useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n } from '../testing/executor-harness.ts';

const e2e = useChildExecutorSuite('dead', process.env);
const { executors, callsWith } = e2e;

describe('dead-letter path', () => {
  it(
    'dead-letters an execution whose executor crashed three times, even with no free slot',
    { timeout: 120_000 },
    async () => {
      const h = await createExecutorHarness();
      const dlq = createDeadLetterQueue({ connection: h.redis, name: h.queueName });
      try {
        const slow = (name: string) =>
          h.createWorkflow({
            name,
            nodes: [n.http('slow', `${e2e.srv.url}/slow?ms=60000&k={{ execution.id }}`)],
          });
        const id = await h.start(await slow('crashy'));
        // ACT: an executor takes the job and dies, three times; the next executor's only
        // slot is busy with another long execution
        for (let crash = 1; crash <= 3; crash++) {
          const child = executors.spawn(h);
          await expect.poll(() => callsWith(`k=${id}`), { timeout: 30_000 }).toBe(crash);
          await killed(child);
        }
        const busy = await h.start(await slow('busy'), {}, { priority: 'high' });
        await h.startExecutor({ EXECUTOR_CONCURRENCY: '1' });
        await expect.poll(() => callsWith(`k=${busy}`), { timeout: 15_000 }).toBe(1);
        // ASSERT
        const e = await h.waitFor(id, ['success', 'failed', 'cancelled'], 20_000);
        expect(e.status).toBe('failed');
        expect(e.error?.message).toMatch(/^dead-lettered: .*stalled/);
        await expect.poll(() => dlq.size(), { timeout: 10_000 }).toBe(1);
        expect((await dlq.queue.getJob(id))?.data.reason).toMatch(/stalled/);
      } finally {
        await dlq.queue.obliterate({ force: true });
        await dlq.close();
        await h.close();
      }
    },
  );

  it(
    'stops a run whose job lock is lost, and the new owner continues it',
    { timeout: 60_000 },
    async () => {
      const h = await createExecutorHarness();
      try {
        //  first(count) -> hang (never answers on its own; 25 s node timeout)
        const wf = await h.createWorkflow({
          name: 'lock-lost',
          nodes: [
            n.http('first', `${e2e.srv.url}/count/{{ execution.id }}-first`),
            n.http('hang', `${e2e.srv.url}/hang?k={{ execution.id }}`, { timeout_ms: 25_000 }),
          ],
          edges: [{ from: 'first', to: 'hang' }],
        });
        await h.startExecutor();
        const id = await h.start(wf);
        await expect.poll(() => callsWith(`hang?k=${id}`), { timeout: 15_000 }).toBe(1);
        const closedBefore = e2e.srv.hangClosedAt.length;
        // ACT: the job's lock disappears (as if it expired while the worker was busy)
        await h.redis.del(`bull:${h.queueName}:${id}:lock`);
        // ASSERT: the old run aborts its in-flight node long before the node's timeout, and the
        // execution goes on under a new attempt without re-running the checkpointed node
        await expect
          .poll(() => e2e.srv.hangClosedAt.length - closedBefore, { timeout: 10_000 })
          .toBeGreaterThan(0);
        await expect.poll(() => callsWith(`hang?k=${id}`), { timeout: 15_000 }).toBe(2);
        const row = await h.db.pool.query<{ attempt: number; status: string }>(
          'select attempt, status from executions where id = $1',
          [id],
        );
        expect(row.rows[0]).toEqual({ attempt: 2, status: 'running' });
        expect(e2e.srv.counts.get(`count/${id}-first`)).toBe(1);
        // the new holder keeps its lock: no further stall or takeover over 3 lock periods
        await new Promise((r) => setTimeout(r, 6_000));
        expect(callsWith(`hang?k=${id}`)).toBe(2);
        const later = await h.db.pool.query<{ attempt: number }>(
          'select attempt from executions where id = $1',
          [id],
        );
        expect(later.rows[0]?.attempt).toBe(2);
      } finally {
        await h.close();
      }
    },
  );
});
