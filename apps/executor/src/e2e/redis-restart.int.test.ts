import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createExecutionQueue, createRedis, createWorkerRegistry } from '@linkflow/queue';
import { freePort, killRedis, startPrivateRedis } from '../../../../test/private-redis.ts';
import { createExecutorHarness, n } from '../testing/executor-harness.ts';

async function readiness(port: number): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
  return { status: res.status, body: await res.json() };
}

describe('executor and a Redis restart', () => {
  it(
    'reconnects, re-registers and takes new work after its Redis restarts empty',
    { timeout: 60_000 },
    async () => {
      const h = await createExecutorHarness();
      const port = await freePort();
      let redis = await startPrivateRedis(port);
      const url = `redis://127.0.0.1:${port}`;
      const queueName = `t-${randomUUID()}`;
      const producer = createRedis(url, { role: 'producer' });
      const queue = createExecutionQueue({ connection: producer, name: queueName });
      const registry = createWorkerRegistry({ connection: producer, name: queueName });
      const metricsPort = await freePort();
      try {
        await h.startExecutor({
          REDIS_URL: url,
          LINKFLOW_QUEUE: queueName,
          EXECUTOR_ID: 'restart-1',
          EXECUTOR_METRICS_PORT: String(metricsPort),
          EXECUTOR_HEARTBEAT_MS: '200',
        });
        const wf = await h.createWorkflow({ name: 'restart', nodes: [n.transform('a', '1')] });
        const run = async () => {
          const id = await h.start(wf, {}, { enqueue: false });
          await expect
            .poll(
              () =>
                queue
                  .enqueue({ executionId: id, tenantId: h.tenantId, priority: 'normal' })
                  .then(() => true)
                  .catch(() => false),
              { timeout: 15_000, interval: 200 },
            )
            .toBe(true);
          return (await h.waitFor(id, ['success', 'failed'], 20_000)).status;
        };
        expect(await run()).toBe('success');
        expect((await readiness(metricsPort)).status).toBe(200);
        // ACT: Redis dies and comes back empty on the same port
        await killRedis(redis);
        await expect.poll(async () => (await readiness(metricsPort)).status).toBe(503);
        redis = await startPrivateRedis(port);
        // ASSERT: the worker reconnected on its own: registered again, ready, and running jobs
        await expect
          .poll(async () => (await registry.list().catch(() => [])).map((w) => w.id), {
            timeout: 10_000,
          })
          .toEqual(['restart-1']);
        expect(await run()).toBe('success');
        expect((await readiness(metricsPort)).status).toBe(200);
      } finally {
        await h.close();
        await queue.close();
        producer.disconnect();
        await killRedis(redis);
      }
    },
  );

  it(
    'is not ready, naming the check, while Redis may evict keys',
    { timeout: 30_000 },
    async () => {
      const h = await createExecutorHarness();
      const port = await freePort();
      const redis = await startPrivateRedis(port, ['--maxmemory-policy', 'allkeys-lru']);
      const metricsPort = await freePort();
      try {
        await h.startExecutor({
          REDIS_URL: `redis://127.0.0.1:${port}`,
          EXECUTOR_METRICS_PORT: String(metricsPort),
        });
        const ready = await readiness(metricsPort);
        expect(ready.status).toBe(503);
        expect(ready.body).toMatchObject({
          status: 'unavailable',
          checks: { redis: 'ok', redis_policy: 'unavailable' },
        });
      } finally {
        await h.close();
        await killRedis(redis);
      }
    },
  );
});
