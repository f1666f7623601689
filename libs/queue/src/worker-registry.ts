import { guardedOperations, type FleetStoreOptions } from './queue-operation.ts';

/** One live executor as `GET /api/admin/workers` shows it. */
export interface WorkerInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** ISO-8601 UTC. */
  readonly started_at: string;
  /** ISO-8601 UTC, by the executor's clock. */
  readonly last_heartbeat_at: string;
  readonly concurrency: number;
  readonly tags: string[];
  /** Executions running in it now. */
  readonly running: number;
}

/** The fleet's registry of executors in Redis. */
export interface WorkerRegistry {
  /**
   * Writes `info` with a time to live of `ttlMs`: an executor that stops heartbeating
   * (killed, frozen, cut off from Redis) disappears once the TTL runs out.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  heartbeat(info: WorkerInfo, ttlMs: number): Promise<void>;
  /** Removes an executor at once (clean shutdown). */
  remove(id: string): Promise<void>;
  /**
   * Live executors, sorted by id (entries whose key expired are pruned from the index).
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  list(): Promise<WorkerInfo[]>;
}

/** Options of {@link createWorkerRegistry}. */
/** Where the registry lives (see `FleetStoreOptions`). */
export type WorkerRegistryOptions = FleetStoreOptions;

const keysOf = (name: string) => ({
  index: `linkflow:${name}:workers`,
  worker: (id: string) => `linkflow:${name}:worker:${id}`,
});

function parseInfo(raw: string | null): WorkerInfo | undefined {
  if (raw === null) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && 'id' in value
      ? (value as WorkerInfo)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Executors register as one JSON string key each (`linkflow:<queue>:worker:<id>`, with a
 * TTL of a few heartbeats) plus their id in an index set; listing reads the index, fetches
 * the keys in one MGET and prunes ids whose key has expired.
 */
export function createWorkerRegistry(options: WorkerRegistryOptions): WorkerRegistry {
  const { connection: redis, name } = options;
  const keys = keysOf(name);
  const guarded = guardedOperations(options);
  return {
    async heartbeat(info, ttlMs) {
      await guarded('workers.heartbeat', () =>
        redis
          .multi()
          .set(keys.worker(info.id), JSON.stringify(info), 'PX', ttlMs)
          .sadd(keys.index, info.id)
          .exec(),
      );
    },
    async remove(id) {
      await guarded('workers.remove', () =>
        redis.multi().del(keys.worker(id)).srem(keys.index, id).exec(),
      );
    },
    async list() {
      return guarded('workers.list', async () => {
        const ids = (await redis.smembers(keys.index)).sort();
        if (ids.length === 0) return [];
        const raw = await redis.mget(ids.map(keys.worker));
        const gone = ids.filter((_, i) => raw[i] === null);
        if (gone.length > 0) await redis.srem(keys.index, ...gone);
        return raw.map(parseInfo).filter((w): w is WorkerInfo => w !== undefined);
      });
    },
  };
}
