import { describe, expect, it } from 'vitest';
import { freePort, killRedis, startPrivateRedis } from '../../../../test/private-redis.ts';
import { createApiHarness, sampleWorkflow } from '../testing/api-harness.ts';

describe('API and Redis hygiene', () => {
  it('is not ready, saying why, while Redis may evict keys', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const redis = await startPrivateRedis(port, ['--maxmemory-policy', 'allkeys-lru']);
    const h = await createApiHarness({ redisUrl: `redis://127.0.0.1:${port}` });
    try {
      const res = await h.request('GET', '/health/ready', { key: null });
      expect(res.statusCode).toBe(503);
      const body = res.json<{ checks: Record<string, string> }>();
      expect(body.checks['redis']).toBe('ok');
      expect(body.checks['redis_policy']).toMatch(/maxmemory-policy is allkeys-lru.*noeviction/);
    } finally {
      await h.close();
      await killRedis(redis);
    }
  });

  it(
    'answers 503 with Retry-After and writes nothing while Redis is down, then starts again',
    { timeout: 40_000 },
    async () => {
      const port = await freePort();
      let redis = await startPrivateRedis(port);
      const h = await createApiHarness({ redisUrl: `redis://127.0.0.1:${port}` });
      try {
        const wf = await h.request('POST', '/api/workflows', { body: sampleWorkflow('down') });
        const workflowId = wf.json<{ id: string }>().id;
        const rows = async () =>
          (
            await h.db.pool.query<{ n: number }>(
              'select count(*)::int as n from executions where workflow_id = $1',
              [workflowId],
            )
          ).rows[0]?.n;
        const start = () =>
          h.request('POST', '/api/executions', { body: { workflow_id: workflowId } });
        // ACT: Redis dies
        await killRedis(redis);
        await expect.poll(() => h.redis.status, { timeout: 5_000 }).not.toBe('ready');
        const res = await start();
        // ASSERT: fast 503, told when to retry, nothing half-written
        expect(res.statusCode).toBe(503);
        expect(res.headers['retry-after']).toBe('5');
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(await rows()).toBe(0);
        // Redis is back: starts are accepted and enqueued again
        redis = await startPrivateRedis(port);
        await expect.poll(async () => (await start()).statusCode, { timeout: 15_000 }).toBe(202);
        expect(await rows()).toBe(1);
        expect(await h.queue.queue.count()).toBe(1);
      } finally {
        await h.close();
        await killRedis(redis);
      }
    },
  );
});
