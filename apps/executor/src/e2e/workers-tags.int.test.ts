import { describe, expect, it } from 'vitest';
import {
  createExecutionQueues,
  createWorkerRegistry,
  readQueueStatus,
  createDeadLetterQueue,
} from '@linkflow/queue';
import { killed, useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n } from '../testing/executor-harness.ts';

const e2e = useChildExecutorSuite('fleet', process.env);

describe('worker registry', () => {
  it(
    'lists a running executor with its details and drops it within a few heartbeats of SIGKILL',
    { timeout: 40_000 },
    async () => {
      const h = await createExecutorHarness({ EXECUTOR_HEARTBEAT_MS: '300' });
      const registry = createWorkerRegistry({ connection: h.redis, name: h.queueName });
      try {
        const child = e2e.executors.spawn(h, { EXECUTOR_TAGS: 'gpu,eu' });
        await expect.poll(async () => (await registry.list()).length, { timeout: 20_000 }).toBe(1);
        const [w] = await registry.list();
        expect(w).toMatchObject({
          id: 'fleet-0',
          pid: child.pid,
          concurrency: 8,
          tags: ['eu', 'gpu'],
          running: 0,
        });
        expect(Date.parse(w?.last_heartbeat_at ?? '')).toBeGreaterThanOrEqual(
          Date.parse(w?.started_at ?? ''),
        );
        // ACT: kill -9 (no clean deregistration)
        await killed(child);
        const killedAt = Date.now();
        // ASSERT: gone once its TTL (3 heartbeats = 900 ms) runs out
        await expect.poll(async () => (await registry.list()).length, { timeout: 5_000 }).toBe(0);
        expect(Date.now() - killedAt).toBeLessThan(3_000);
      } finally {
        await h.close();
      }
    },
  );
});

describe('worker tags', () => {
  it(
    'keeps a gpu execution waiting (unroutable) on untagged executors and runs it once a gpu executor joins',
    { timeout: 40_000 },
    async () => {
      const h = await createExecutorHarness({ EXECUTOR_HEARTBEAT_MS: '200' });
      const queues = createExecutionQueues({ base: h.queue, connection: h.redis });
      const dlq = createDeadLetterQueue({ connection: h.redis, name: h.queueName });
      const workers = createWorkerRegistry({ connection: h.redis, name: h.queueName });
      const status = () =>
        readQueueStatus({ queues, dlq, workers, redis: h.redis, now: () => Date.now() });
      try {
        await h.startExecutor({ EXECUTOR_ID: 'plain' });
        const gpuWf = await h.createWorkflow({
          name: 'gpu-only',
          nodes: [n.transform('a', '1')],
          settings: { worker_tags: ['gpu'] },
        });
        const plainWf = await h.createWorkflow({ name: 'plain', nodes: [n.transform('a', '1')] });
        const gpuId = await h.start(gpuWf, {}, { enqueue: false });
        await queues.enqueue({
          executionId: gpuId,
          tenantId: h.tenantId,
          priority: 'normal',
          workerTags: ['gpu'],
        });
        // the untagged executor runs untagged work but never the gpu execution
        const plainId = await h.start(plainWf);
        expect((await h.waitFor(plainId)).status).toBe('success');
        await new Promise((r) => setTimeout(r, 1_000));
        expect((await h.get(gpuId)).status).toBe('pending');
        expect(await status()).toMatchObject({ unroutable: 1, workers: 1 });
        // ACT: a gpu executor joins
        await h.startExecutor({ EXECUTOR_ID: 'gpu-1', EXECUTOR_TAGS: 'gpu' });
        // ASSERT: it takes the execution (it learns the tag set from Redis)
        const done = await h.waitFor(gpuId, ['success', 'failed'], 10_000);
        expect(done.status).toBe('success');
        expect(done.transitions.find((t) => t.to === 'running')?.reason).toBe('picked up by gpu-1');
        expect((await status()).unroutable).toBe(0);
      } finally {
        await queues.forTags(['gpu']).queue.obliterate({ force: true });
        await h.redis.del(`linkflow:${h.queueName}:tag-sets`);
        await queues.close();
        await dlq.close();
        await h.close();
      }
    },
  );
});
