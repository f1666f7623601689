import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/private-redis.ts';
import { createBreakerBoard, createRedis, type BreakerEntry, type Redis } from './index.ts';

let redis: Redis;
const name = `bb-${randomUUID()}`;

beforeAll(() => {
  redis = createRedis('redis://127.0.0.1:6379', { role: 'producer', connectionName: 'bb-int' });
});
afterAll(async () => {
  await redis.del(`linkflow:${name}:breaker-executors`, `linkflow:${name}:breakers:ex-1`);
  redis.disconnect();
});

const open = (target: string, tenant = 'tn-1'): BreakerEntry => ({
  target,
  tenant_id: tenant,
  state: 'open',
  failures: 4,
  last_change_at: '2026-01-02T03:04:05.000Z',
  executor: 'ex-1',
});

describe('breaker board', () => {
  it('keeps one hash per executor with the TTL, replaced whole by each publish', async () => {
    const board = createBreakerBoard({ connection: redis, name });
    await board.publish('ex-1', [open('a:80'), open('b:80')], 15_000);
    const key = `linkflow:${name}:breakers:ex-1`;
    expect(await redis.hkeys(key)).toEqual(
      expect.arrayContaining(['["tn-1","a:80"]', '["tn-1","b:80"]']),
    );
    expect(await redis.pttl(key)).toBeGreaterThan(10_000);
    await board.publish('ex-1', [open('b:80')], 15_000);
    expect(await board.list()).toEqual([open('b:80')]);
    await board.remove('ex-1');
    expect(await redis.exists(key)).toBe(0);
    expect(await board.list()).toEqual([]);
  });

  it('keeps one entry per tenant for a shared target, sorted by target then tenant', async () => {
    const board = createBreakerBoard({ connection: redis, name });
    await board.publish('ex-1', [open('b:80', 'tn-2'), open('a:80', 'tn-2'), open('b:80')], 15_000);
    expect(await board.list()).toEqual([open('a:80', 'tn-2'), open('b:80'), open('b:80', 'tn-2')]);
    await board.remove('ex-1');
  });

  it('skips garbled or ill-shaped hash entries instead of failing the whole list', async () => {
    const board = createBreakerBoard({ connection: redis, name });
    await board.publish('ex-1', [open('b:80')], 15_000);
    const key = `linkflow:${name}:breakers:ex-1`;
    await redis.hset(key, {
      'not-json': '{oops',
      null: 'null',
      number: '42',
      'target-number': JSON.stringify({ ...open('x'), target: 7 }),
      'no-executor': JSON.stringify({ target: 'c:80', state: 'open' }),
      'no-tenant': JSON.stringify({ ...open('f:80'), tenant_id: undefined }),
      'bad-state': JSON.stringify({ ...open('d:80'), state: 'melted' }),
      'bad-failures': JSON.stringify({ ...open('e:80'), failures: 'many' }),
    });
    expect(await board.list()).toEqual([open('b:80')]);
    await board.remove('ex-1');
  });

  it('fails with QUEUE_UNAVAILABLE within its deadline when Redis is gone', async () => {
    const port = await freePort();
    const dead = createRedis(`redis://127.0.0.1:${port}`, { role: 'producer', onError: () => {} });
    const board = createBreakerBoard({ connection: dead, name, operationTimeoutMs: 300 });
    try {
      await expect(board.list()).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
      await expect(board.publish('ex-1', [open('a:80')], 1_000)).rejects.toMatchObject({
        code: 'QUEUE_UNAVAILABLE',
      });
    } finally {
      dead.disconnect();
    }
  });
});
