import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/private-redis.ts';
import {
  createMetricsBoard,
  createRedis,
  startMetricsReporter,
  subscribeRequests,
  type MetricsBoard,
  type QueueLogger,
  type Redis,
} from './index.ts';

// Executors report their metrics to the board; a scrape of the API asks for fresh ones and
// merges what the live executors answered.

let redis: Redis;
let subscriber: Redis;
const name = `mb-${randomUUID()}`;
const silent: QueueLogger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

beforeAll(() => {
  redis = createRedis('redis://127.0.0.1:6379', { role: 'producer', connectionName: 'mb-int' });
  subscriber = createRedis('redis://127.0.0.1:6379', { role: 'subscriber' });
});
afterAll(async () => {
  const keys = await redis.keys(`linkflow:${name}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  subscriber.disconnect();
});

/** Runs `use` with a board of its own and one executor reporting `snapshot()` (own connection). */
async function withReporter(
  suffix: string,
  snapshot: () => string,
  use: (board: MetricsBoard) => Promise<void>,
): Promise<void> {
  const board = createMetricsBoard({ connection: redis, name: `${name}-${suffix}` });
  const own = createRedis('redis://127.0.0.1:6379', { role: 'subscriber' });
  const reporter = await startMetricsReporter({
    ...{ board, subscriber: own, id: 'ex-1', log: silent, intervalMs: 60_000 },
    snapshot: () => Promise.resolve(snapshot()),
  });
  try {
    await use(board);
  } finally {
    await reporter.stop();
    own.disconnect();
  }
}

describe('metrics board', () => {
  it('answers a collect with each executor’s metrics as of the request, not its last heartbeat', async () => {
    const board = createMetricsBoard({ connection: redis, name });
    let finished = 0;
    // One subscriber connection each, as two executor processes have.
    const own = ['ex-1', 'ex-2'].map(() =>
      createRedis('redis://127.0.0.1:6379', { role: 'subscriber' }),
    );
    const reporters = await Promise.all(
      ['ex-1', 'ex-2'].map((id, i) =>
        startMetricsReporter({
          ...{ board, subscriber: own[i] as Redis, id, log: silent, intervalMs: 60_000 },
          snapshot: () => Promise.resolve(JSON.stringify({ id, finished })),
        }),
      ),
    );
    try {
      finished = 7; // after the start-up report; the next heartbeat is a minute away
      const snapshots = (await board.collect(2_000)).map((s) => JSON.parse(s) as unknown);
      expect(snapshots).toEqual(
        expect.arrayContaining([
          { id: 'ex-1', finished: 7 },
          { id: 'ex-2', finished: 7 },
        ]),
      );
      expect(snapshots).toHaveLength(2);
    } finally {
      await Promise.all(reporters.map((r) => r.stop()));
      for (const connection of own) connection.disconnect();
    }
    expect(await board.collect(100)).toEqual([]);
  });

  it('uses the last report of an executor that does not answer in time, until its TTL', async () => {
    const board = createMetricsBoard({ connection: redis, name });
    await board.publish('ex-deaf', { answered: 0, metrics: '"last"' }, 400);
    // Hears requests but never answers: the collect waits out its budget, then goes on.
    const deaf = await subscribeRequests(subscriber, board.requests, () => undefined);
    try {
      expect(await board.collect(150)).toEqual(['"last"']);
      await new Promise((resolve) => setTimeout(resolve, 450));
      expect(await board.collect(50)).toEqual([]);
      expect(await redis.smembers(`linkflow:${name}:metrics-executors`)).toEqual([]);
    } finally {
      await deaf.unsubscribe();
    }
  });

  it('returns at once with no executor listening (it would wait a minute otherwise)', async () => {
    const board = createMetricsBoard({ connection: redis, name: `${name}-empty` });
    expect(await board.collect(60_000)).toEqual([]);
  });

  it('answers concurrent collects with one report (each would wait a minute otherwise)', async () => {
    let reports = 0; // each report is numbered, so the answers differ as reports are made
    await withReporter(
      'burst',
      () => String(++reports),
      async (board) => {
        const answers = await Promise.all(Array.from({ length: 8 }, () => board.collect(60_000)));
        expect(answers.every((a) => a.length === 1)).toBe(true);
      },
    );
  });

  it('answers with a fresh report after the request sequence was lost', async () => {
    let value = 1;
    await withReporter(
      'reset',
      () => String(value),
      async (board) => {
        expect(await board.collect(60_000)).toEqual(['1']);
        await redis.del(`linkflow:${name}-reset:metrics-sequence`);
        value = 2;
        expect(await board.collect(60_000)).toEqual(['2']);
      },
    );
  });

  it('leaves no report behind when it stops during a write', async () => {
    const board = createMetricsBoard({ connection: redis, name: `${name}-stop` });
    const own = createRedis('redis://127.0.0.1:6379', { role: 'subscriber' });
    let release = () => {};
    const slow = new Promise<string>((resolve) => (release = () => resolve('"late"')));
    const reporter = await startMetricsReporter({
      ...{ board, subscriber: own, id: 'ex-1', log: silent, intervalMs: 60_000 },
      snapshot: () => slow,
    });
    const stopping = reporter.stop();
    release();
    await stopping;
    own.disconnect();
    expect(await redis.exists(`linkflow:${name}-stop:metrics:ex-1`)).toBe(0);
  });

  it('fails with QUEUE_UNAVAILABLE within its deadline when Redis is gone', async () => {
    const port = await freePort();
    const dead = createRedis(`redis://127.0.0.1:${port}`, { role: 'producer', onError: () => {} });
    const board = createMetricsBoard({ connection: dead, name, operationTimeoutMs: 300 });
    try {
      await expect(board.collect(100)).rejects.toMatchObject({ code: 'QUEUE_UNAVAILABLE' });
    } finally {
      dead.disconnect();
    }
  });
});
