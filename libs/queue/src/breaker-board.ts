import { guardedOperations, type FleetStoreOptions } from './queue-operation.ts';

/** One executor's breaker for one tenant and target as `GET /api/admin/breakers` shows it. */
export interface BreakerEntry {
  /** `host:port` of an HTTP target or a db connection name. */
  readonly target: string;
  /** The tenant whose calls this breaker guards (each tenant has its own per target). */
  readonly tenant_id: string;
  readonly state: 'closed' | 'half_open' | 'open';
  /** Counted (retryable) failures in the breaker's current rolling window. */
  readonly failures: number;
  /** ISO-8601 UTC: when the breaker was made or last changed state. */
  readonly last_change_at: string;
  /** The executor's worker id. */
  readonly executor: string;
}

/** The fleet's breaker states in Redis, one hash per executor. */
export interface BreakerBoard {
  /**
   * Replaces the executor's breakers with `entries` (all of them with this `executor`), with
   * a time to live of `ttlMs`: a killed executor's breakers vanish once it runs out.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  publish(executor: string, entries: readonly BreakerEntry[], ttlMs: number): Promise<void>;
  /** Removes an executor's breakers at once (clean shutdown). */
  remove(executor: string): Promise<void>;
  /**
   * Every live executor's breakers, sorted by target, then tenant, then executor.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  list(): Promise<BreakerEntry[]>;
}

/** Options of {@link createBreakerBoard}. */
/** Where the board lives (see `FleetStoreOptions`). */
export type BreakerBoardOptions = FleetStoreOptions;

const keysOf = (name: string) => ({
  index: `linkflow:${name}:breaker-executors`,
  executor: (id: string) => `linkflow:${name}:breakers:${id}`,
});

const STATES: readonly unknown[] = ['closed', 'half_open', 'open'];

/** Whether a decoded hash value has every field of a {@link BreakerEntry}, well typed. */
function isBreakerEntry(value: unknown): value is BreakerEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.target === 'string' &&
    typeof e.tenant_id === 'string' &&
    typeof e.executor === 'string' &&
    typeof e.last_change_at === 'string' &&
    STATES.includes(e.state) &&
    Number.isSafeInteger(e.failures) &&
    (e.failures as number) >= 0
  );
}

/** A hash value as an entry; a garbled or ill-shaped one (not written by publish) is skipped. */
function parseEntry(raw: string): BreakerEntry | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return isBreakerEntry(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const byTargetTenantExecutor = (a: BreakerEntry, b: BreakerEntry) =>
  a.target.localeCompare(b.target) ||
  a.tenant_id.localeCompare(b.tenant_id) ||
  a.executor.localeCompare(b.executor);

/** The hash field of an entry: unique per tenant and target (JSON, so no separator can clash). */
const fieldOf = (e: BreakerEntry): string => JSON.stringify([e.tenant_id, e.target]);

/**
 * Each executor writes its breakers as one hash (`linkflow:<queue>:breakers:<id>`, field:
 * `[tenant_id, target]` as JSON, value: the entry as JSON, with a TTL of a few heartbeats) and its id in an index
 * set; a publish replaces the whole hash in one MULTI. Listing reads the index, fetches the
 * hashes in one pipeline and prunes ids whose hash has expired or is empty.
 */
export function createBreakerBoard(options: BreakerBoardOptions): BreakerBoard {
  const { connection: redis, name } = options;
  const keys = keysOf(name);
  const guarded = guardedOperations(options);
  return {
    async publish(executor, entries, ttlMs) {
      const key = keys.executor(executor);
      const multi = redis.multi().del(key);
      if (entries.length > 0) {
        multi.hset(key, Object.fromEntries(entries.map((e) => [fieldOf(e), JSON.stringify(e)])));
        multi.pexpire(key, ttlMs).sadd(keys.index, executor);
      } else multi.srem(keys.index, executor);
      await guarded('breakers.publish', () => multi.exec());
    },
    async remove(executor) {
      await guarded('breakers.remove', () =>
        redis.multi().del(keys.executor(executor)).srem(keys.index, executor).exec(),
      );
    },
    async list() {
      return guarded('breakers.list', async () => {
        const ids = await redis.smembers(keys.index);
        if (ids.length === 0) return [];
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hvals(keys.executor(id));
        const results = (await pipeline.exec()) ?? [];
        const values = results.map(([err, v]) => (err ? [] : (v as string[])));
        const gone = ids.filter((_, i) => values[i]?.length === 0);
        if (gone.length > 0) await redis.srem(keys.index, ...gone);
        return values
          .flat()
          .map(parseEntry)
          .filter((e): e is BreakerEntry => e !== undefined)
          .sort(byTargetTenantExecutor);
      });
    },
  };
}
