import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppError } from '@linkflow/domain';
import {
  createExecutionQueue,
  createExecutionQueues,
  createRedis,
  tagSetsKey,
  type ExecutionQueue,
  type ExecutionQueues,
  type Redis,
} from './index.ts';

let redis: Redis;
let base: ExecutionQueue;
let queues: ExecutionQueues;

beforeAll(() => {
  redis = createRedis('redis://127.0.0.1:6379', {
    role: 'producer',
    connectionName: 'tagged-int',
  });
  base = createExecutionQueue({ connection: redis, name: `tq-${randomUUID()}` });
  queues = createExecutionQueues({ base, connection: redis, maxTagSets: 3 });
});

afterAll(async () => {
  for (const tags of await queues.tagSets())
    await queues.forTags(tags).queue.obliterate({ force: true });
  await redis.del(tagSetsKey(base.name));
  await queues.close();
  await base.close();
  redis.disconnect();
});

describe('tag set limit', () => {
  it('admits at most maxTagSets distinct tag sets, even when producers race', async () => {
    // ACT: ten distinct tag sets at once, as many API processes would
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => queues.admitTags([`t${i}`])),
    );
    // ASSERT: exactly three recorded; the rest refused with a conflict naming the limit
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(7);
    const error = (refused[0] as PromiseRejectedResult).reason as AppError;
    expect(error).toMatchObject({ code: 'TOO_MANY_TAG_SETS', kind: 'conflict' });
    expect(await redis.scard(tagSetsKey(base.name))).toBe(3);
  });

  it('still queues to known and untagged sets once full, and refuses an enqueue to a new one', async () => {
    const known = (await queues.tagSets()).find((t) => t.length > 0) ?? [];
    const id = `known-${randomUUID()}`;
    await queues.enqueue({ executionId: id, tenantId: 't', priority: 'normal', workerTags: known });
    expect((await queues.status(id, known)).state).toBe('prioritized');
    await queues.admitTags([]);
    await expect(
      queues.enqueue({
        executionId: `new-${randomUUID()}`,
        tenantId: 't',
        priority: 'normal',
        workerTags: ['brand-new'],
      }),
    ).rejects.toMatchObject({ code: 'TOO_MANY_TAG_SETS' });
    expect(await redis.sismember(tagSetsKey(base.name), 'brand-new')).toBe(0);
  });
});
