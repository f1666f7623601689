import { Redis, type RedisOptions } from 'ioredis';
import { queueErrors } from './queue-errors.ts';

/**
 * What a connection is used for; it decides how the connection behaves when Redis is down.
 *
 * - `worker`: BullMQ workers (and anything that must survive a Redis restart). Commands wait
 *   for the reconnect forever (`maxRetriesPerRequest: null`), which BullMQ requires for the
 *   blocking connection it duplicates from this one.
 * - `producer`: the API enqueuing, publishing, reading queue state. Fails fast so a request
 *   answers 503 instead of hanging.
 * - `subscriber`: a connection dedicated to pub/sub (`SUBSCRIBE` puts it in subscriber mode,
 *   where it can issue no other command). Reconnects forever; ioredis re-subscribes itself.
 */
export type RedisRole = 'worker' | 'producer' | 'subscriber';

/** Options for {@link createRedis}. */
export interface CreateRedisOptions {
  readonly role: RedisRole;
  /** Shown in `CLIENT LIST`; helps operators tell the processes apart. */
  readonly connectionName?: string;
  /**
   * Receives connection errors (ioredis emits them on every failed reconnect). Pass the
   * logger here. Without it ioredis prints its own "Unhandled error event" warning.
   */
  readonly onError?: (err: Error) => void;
}

/** Caps reconnect backoff: quick first retries, then at most every 5 s. */
function reconnectDelayMs(times: number): number {
  return Math.min(100 * 2 ** Math.min(times, 10), 5_000);
}

/**
 * ioredis options per role. Producers keep `enableOfflineQueue` on (the default): with it
 * off, every command issued before the first `ready` (at start-up, right after a reconnect)
 * is rejected at once, which is too strict. Instead `maxRetriesPerRequest: 1` flushes queued
 * commands with an error after one failed reconnect attempt, and `commandTimeout` bounds a
 * command against a Redis that accepts the connection but does not answer. A timed-out
 * enqueue is safe to retry because the job id is the execution id.
 */
export function redisOptionsFor(role: RedisRole): RedisOptions {
  const common: RedisOptions = { retryStrategy: reconnectDelayMs, connectTimeout: 5_000 };
  switch (role) {
    case 'worker':
    case 'subscriber':
      return { ...common, maxRetriesPerRequest: null };
    case 'producer':
      return { ...common, maxRetriesPerRequest: 1, commandTimeout: 5_000 };
  }
}

/**
 * Creates an ioredis client for `url` (e.g. `redis://127.0.0.1:6379`) configured for `role`.
 * The caller owns the connection: queues built on it never close it, so call `quit()` on
 * shutdown after closing the queues and workers that use it. Never set `keyPrefix`
 * (BullMQ rejects it; queues take a `prefix` instead).
 */
export function createRedis(url: string, options: CreateRedisOptions): Redis {
  const redisOptions: RedisOptions = { ...redisOptionsFor(options.role) };
  if (options.connectionName !== undefined) redisOptions.connectionName = options.connectionName;
  const redis = new Redis(url, redisOptions);
  if (options.onError !== undefined) redis.on('error', options.onError);
  return redis;
}

export type { Redis } from 'ioredis';

/**
 * Checks that Redis never evicts keys (`maxmemory-policy noeviction`): under any other
 * policy a full Redis silently drops queued jobs and locks. Reads `INFO memory` (allowed
 * where `CONFIG GET` is disabled, as on managed services). Readiness probes call it.
 * @throws AppError `REDIS_EVICTION_POLICY` (unavailable) naming the policy found.
 */
export async function assertNoEviction(redis: Pick<Redis, 'info'>): Promise<void> {
  const info = await redis.info('memory');
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  if (policy !== 'noeviction') throw queueErrors.evictionPolicy(policy ?? 'unknown');
}
