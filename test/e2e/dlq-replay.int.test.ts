import { describe, expect, it } from 'vitest';
import { createApiHarness } from '../../apps/api/src/testing/api-harness.ts';
import { killed, useChildExecutorSuite } from '../../apps/executor/src/testing/child-executors.ts';
import { createExecutorHarness, n } from '../../apps/executor/src/testing/executor-harness.ts';

const e2e = useChildExecutorSuite('replay', process.env);

describe('dead-letter queue over REST', () => {
  it(
    'dead-letters a crashed execution once and replays it from its checkpoints',
    { timeout: 60_000 },
    async () => {
      // c1(count) -> s(slow) -> c2(count); one stall is one too many
      const h = await createExecutorHarness({ EXECUTOR_MAX_STALLED_COUNT: '0' });
      const api = await createApiHarness({ queueName: h.queueName });
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
        const dlqItems = async () =>
          (await api.request('GET', '/api/admin/dlq')).json<{ items: unknown[] }>().items;
        await expect.poll(async () => (await dlqItems()).length, { timeout: 5_000 }).toBe(1);
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
        expect(await dlqItems()).toEqual([]);
      } finally {
        const dlqKeys = await h.redis.keys(`bull:${h.queueName}-dlq:*`);
        if (dlqKeys.length > 0) await h.redis.del(...dlqKeys);
        await api.app.close();
        await api.db.close();
        api.redis.disconnect();
        await h.close();
      }
    },
  );
});
