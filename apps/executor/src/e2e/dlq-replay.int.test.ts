import { describe, expect, it } from 'vitest';
import { createDeadLetterQueue } from '@linkflow/queue';
import { createRunStore } from '@linkflow/store';
import { createApiHarness } from '../../../api/src/testing/api-harness.ts';
import { killed, useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n } from '../testing/executor-harness.ts';

const e2e = useChildExecutorSuite('replay', process.env);

describe('dead-letter queue over REST', () => {
  it(
    'dead-letters a crashed execution once, replays it from its checkpoints, and refuses a second replay once it succeeded',
    { timeout: 60_000 },
    async () => {
      // c1(count) -> s(slow) -> c2(count); one stall is one too many
      const h = await createExecutorHarness({ EXECUTOR_MAX_STALLED_COUNT: '0' });
      const api = await createApiHarness({ queueName: h.queueName });
      const dlq = createDeadLetterQueue({ connection: h.redis, name: h.queueName });
      try {
        const count = (id: string) => n.http(id, `${e2e.srv.url}/count/{{ execution.id }}-${id}`);
        const wf = await h.createWorkflow({
          name: 'replayed',
          nodes: [count('c1'), n.http('s', `${e2e.srv.url}/slow?ms=1500`), count('c2')],
          edges: [
            { from: 'c1', to: 's' },
            { from: 's', to: 'c2' },
          ],
        });
        const id = await h.start(wf);
        // ARRANGE: the executor that took it dies after c1 was checkpointed
        const child = e2e.executors.spawn(h);
        await expect.poll(() => e2e.callsWith(`${id}-c1`), { timeout: 20_000 }).toBe(1);
        await expect
          .poll(async () => (await h.get(id)).nodeRuns.find((r) => r.nodeId === 'c1')?.status, {
            timeout: 5_000,
          })
          .toBe('success');
        await killed(child);
        await h.startExecutor();
        // ASSERT: failed and in the DLQ exactly once
        const dead = await h.waitFor(id, ['success', 'failed', 'cancelled'], 20_000);
        expect(dead.status).toBe('failed');
        await expect.poll(() => dlq.size(), { timeout: 5_000 }).toBe(1);
        const listed = await api.request('GET', '/api/admin/dlq');
        expect(listed.json()).toMatchObject({
          items: [{ execution_id: id, workflow_name: 'replayed', status: 'failed', attempts: 1 }],
          next_cursor: null,
        });
        // ACT: replay
        const replay = await api.request('POST', `/api/admin/dlq/${id}/replay`);
        expect(replay.statusCode).toBe(202);
        expect(replay.json()).toEqual({ execution_id: id, status: 'pending', queue: h.queueName });
        // ASSERT: it resumes from c1's checkpoint and succeeds; c1 never ran again
        const done = await h.waitFor(id, ['success', 'failed', 'cancelled'], 20_000);
        expect(done.status).toBe('success');
        expect(e2e.srv.counts.get(`count/${id}-c1`)).toBe(1);
        expect(e2e.srv.counts.get(`count/${id}-c2`)).toBe(1);
        expect(done.transitions.map((t) => `${t.from}>${t.to}`)).toEqual([
          'null>pending',
          'pending>running',
          'running>failed',
          'failed>pending',
          'pending>running',
          'running>success',
        ]);
        expect(done.transitions[3]?.reason).toBe('replayed from the dead-letter queue');
        expect(await dlq.size()).toBe(0);
        // an entry for an execution that has succeeded since cannot be replayed
        await dlq.add(id, 'stale entry');
        expect((await api.request('POST', `/api/admin/dlq/${id}/replay`)).statusCode).toBe(409);
        await dlq.remove(id);
      } finally {
        await dlq.queue.obliterate({ force: true });
        await dlq.close();
        await api.app.close();
        await api.db.close();
        api.redis.disconnect();
        await h.close();
      }
    },
  );

  it('discards an entry: the execution stays failed and no executor runs it', async () => {
    const h = await createExecutorHarness();
    const api = await createApiHarness({ queueName: h.queueName });
    const dlq = createDeadLetterQueue({ connection: h.redis, name: h.queueName });
    try {
      const wf = await h.createWorkflow({ name: 'discarded', nodes: [n.transform('a', '1')] });
      const id = await h.start(wf, {}, { enqueue: false });
      // dead-lettered as the engine does it: failed in Postgres plus a DLQ entry
      await createRunStore({ pool: h.db.pool }).markDead(id, 'poison', new Date());
      await dlq.add(id, 'poison');
      const res = await api.request('DELETE', `/api/admin/dlq/${id}`);
      expect(res.statusCode).toBe(204);
      expect(await dlq.size()).toBe(0);
      expect((await h.get(id)).status).toBe('failed');
      expect((await api.request('POST', `/api/admin/dlq/${id}/replay`)).statusCode).toBe(404);
    } finally {
      await dlq.queue.obliterate({ force: true });
      await dlq.close();
      await api.app.close();
      await api.db.close();
      api.redis.disconnect();
      await h.close();
    }
  });
});
