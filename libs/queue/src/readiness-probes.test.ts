import { describe, expect, it } from 'vitest';
import { executorReadinessProbes } from './readiness-probes.ts';

const healthy = {
  queueName: 'q',
  timeoutMs: 200,
  workerRedis: { ping: () => Promise.resolve('PONG') },
  producerRedis: { info: () => Promise.resolve('# Memory\r\nmaxmemory_policy:noeviction\r\n') },
};

describe('executorReadinessProbes', () => {
  it('lists the other probes first, then redis and redis_policy, all passing when healthy', async () => {
    const probes = executorReadinessProbes({
      ...healthy,
      others: { postgres: () => Promise.resolve(1) },
    });
    expect(Object.keys(probes)).toEqual(['postgres', 'redis', 'redis_policy']);
    await Promise.all(Object.values(probes).map((probe) => probe()));
  });

  it('fails a probe whose dependency errors as QUEUE_UNAVAILABLE naming ready.<name>', async () => {
    const probes = executorReadinessProbes({
      ...healthy,
      workerRedis: { ping: () => Promise.reject(new TypeError('connection closed')) },
    });
    await expect(probes['redis']?.()).rejects.toMatchObject({
      code: 'QUEUE_UNAVAILABLE',
      message: expect.stringContaining('ready.redis') as unknown,
    });
  });

  it('fails a probe that does not answer within the deadline', async () => {
    const probes = executorReadinessProbes({
      ...healthy,
      others: { postgres: () => new Promise(() => {}) },
    });
    await expect(probes['postgres']?.()).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
  });

  it('fails redis_policy when Redis may evict keys', async () => {
    const probes = executorReadinessProbes({
      ...healthy,
      producerRedis: { info: () => Promise.resolve('maxmemory_policy:allkeys-lru\r\n') },
    });
    await expect(probes['redis_policy']?.()).rejects.toMatchObject({
      code: 'QUEUE_UNAVAILABLE',
    });
  });
});
