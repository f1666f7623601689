import type { Redis } from 'ioredis';
import { guardedOperations, type FleetStoreOptions } from './queue-operation.ts';

/** How often a collect looks for the executors' answers while it waits. */
const POLL_MS = 5;

/** An executor's report: its metrics (prom-client JSON) and the last request it had heard. */
export interface MetricsSnapshot {
  /** The highest request number heard before the metrics were read (0: none yet). */
  readonly answered: number;
  readonly metrics: string;
}

/** Where the executors of one queue set report their metrics, and how the API asks for them. */
export interface MetricsBoard {
  /** The pub/sub channel executors listen on; a message is a collect's request number. */
  readonly requests: string;
  /** Stores an executor's report for `ttlMs`. */
  publish(executor: string, snapshot: MetricsSnapshot, ttlMs: number): Promise<void>;
  /** Removes an executor's snapshot (at its shutdown). */
  remove(executor: string): Promise<void>;
  /**
   * Asks every listening executor for a fresh snapshot and waits, at most `waitMs`, until each
   * has answered; then returns every live executor's snapshot: the fresh ones, and the last
   * periodic one of an executor that did not answer in time (still within its TTL).
   */
  collect(waitMs: number): Promise<string[]>;
}

/** Where the board lives (see `FleetStoreOptions`). */
export type MetricsBoardOptions = FleetStoreOptions;

const keysOf = (name: string) => ({
  index: `linkflow:${name}:metrics-executors`,
  executor: (id: string) => `linkflow:${name}:metrics:${id}`,
  requests: `linkflow:${name}:metrics-requests`,
  sequence: `linkflow:${name}:metrics-sequence`,
});

/** A stored report: the request number it answers, a newline, the metrics JSON. */
const encode = (s: MetricsSnapshot) => `${s.answered}\n${s.metrics}`;

function decode(raw: string): MetricsSnapshot | undefined {
  const cut = raw.indexOf('\n');
  const answered = Number(raw.slice(0, cut));
  if (cut < 0 || !Number.isSafeInteger(answered)) return undefined;
  return { answered, metrics: raw.slice(cut + 1) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The next request number. A sequence that is gone (a failover, a manual DEL) restarts from
 * the clock (ms × 1,000), above every number it gave before, so executors that remember the
 * highest number they heard never answer a new request with an old report.
 */
async function nextRequest(redis: Redis, key: string): Promise<number> {
  const replies = await redis
    .multi()
    .set(key, String(Date.now() * 1_000), 'NX')
    .incr(key)
    .exec();
  const [, incremented] = replies ?? [];
  const [error, value] = incremented ?? [new Error('no reply to INCR'), undefined];
  if (error) throw error;
  return Number(value);
}

/**
 * Each executor stores its report as one key (`linkflow:<queue>:metrics:<id>`, TTL a few
 * heartbeats, so a killed executor's numbers leave with it) and its id in an index set. A
 * collect takes the next request number (INCR) and publishes it, which also says how many
 * executors heard it, then reads the reports until that many answer it or a later one; ids
 * whose key expired are pruned from the index.
 */
export function createMetricsBoard(options: MetricsBoardOptions): MetricsBoard {
  const { connection: redis, name } = options;
  const keys = keysOf(name);
  const guarded = guardedOperations(options);
  const read = async () => {
    const ids = await redis.smembers(keys.index);
    if (ids.length === 0) return [];
    const values = await redis.mget(ids.map(keys.executor));
    const gone = ids.filter((_, i) => values[i] === null);
    if (gone.length > 0) await redis.srem(keys.index, ...gone);
    const snapshots: MetricsSnapshot[] = [];
    for (const value of values) {
      const snapshot = value === null ? undefined : decode(value);
      if (snapshot !== undefined) snapshots.push(snapshot);
    }
    return snapshots;
  };
  return {
    requests: keys.requests,
    async publish(executor, snapshot, ttlMs) {
      const multi = redis
        .multi()
        .set(keys.executor(executor), encode(snapshot), 'PX', ttlMs)
        .sadd(keys.index, executor);
      await guarded('metrics.publish', () => multi.exec());
    },
    async remove(executor) {
      await guarded('metrics.remove', () =>
        redis.multi().del(keys.executor(executor)).srem(keys.index, executor).exec(),
      );
    },
    async collect(waitMs) {
      // Numbered requests: a report answers every request up to the one it heard last, so
      // concurrent scrapes (two API processes, a Prometheus pair) all take the newest report.
      const request = await guarded('metrics.request', () => nextRequest(redis, keys.sequence));
      const asked = await guarded('metrics.request', () =>
        redis.publish(keys.requests, String(request)),
      );
      const deadline = Date.now() + waitMs;
      for (;;) {
        const snapshots = await guarded('metrics.collect', read);
        const fresh = snapshots.filter((s) => s.answered >= request).length;
        if (fresh >= asked || Date.now() >= deadline) return snapshots.map((s) => s.metrics);
        await sleep(POLL_MS);
      }
    },
  };
}
