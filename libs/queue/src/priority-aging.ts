import type { Redis } from 'ioredis';
import type { ExecutionRunQueue } from './execution-queue.ts';
import { PRIORITIES } from './job-catalog.ts';

/**
 * BullMQ keeps prioritized jobs in one sorted set scored `priority * 2^32 + counter`
 * (bullmq `getPriorityScore`), so each priority is a contiguous score range ordered by
 * arrival. Pinned to bullmq 6.7.0; priority-aging.int.test.ts fails if that changes.
 */
const TIER = 0x100000000;

/** The score range of one priority: `[priority * 2^32, (priority + 1) * 2^32)`. */
function tierRange(priority: number): [number, string] {
  return [priority * TIER, `(${(priority + 1) * TIER}`];
}

/** Options of {@link promoteAgedJobs}. */
export interface AgingOptions {
  /** A normal or low job waiting this long is promoted. */
  readonly agingMs: number;
  /** Milliseconds since the epoch (job timestamps are the adder's `Date.now()`). */
  readonly now: number;
  /** Jobs looked at per priority per pass (the oldest first). */
  readonly limit?: number;
}

/**
 * Starvation bound: every normal or low job that has waited `agingMs` or longer is moved to
 * the front of the high priority (BullMQ `changePriority` with `lifo`), so it is the next
 * job a free slot takes, ahead of high jobs that keep arriving. Promoted jobs share one
 * score and order by job id (execution ids are UUIDv7, so by age). Running this from
 * several executors at once is harmless: a promoted job is no longer in the ranges read.
 * Returns how many jobs were promoted.
 */
export async function promoteAgedJobs(
  queue: ExecutionRunQueue,
  redis: Redis,
  options: AgingOptions,
): Promise<number> {
  const limit = options.limit ?? 100;
  let promoted = 0;
  for (const priority of [PRIORITIES.normal, PRIORITIES.low]) {
    const [min, max] = tierRange(priority);
    const ids = await redis.zrangebyscore(queue.toKey('prioritized'), min, max, 'LIMIT', 0, limit);
    if (ids.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.hget(queue.toKey(id), 'timestamp');
    const stamps = (await pipeline.exec()) ?? [];
    for (const [i, id] of ids.entries()) {
      const stamp = Number(stamps[i]?.[1]);
      // Ordered by arrival: the first young job ends the tier.
      if (!Number.isFinite(stamp) || options.now - stamp < options.agingMs) break;
      const job = await queue.getJob(id);
      if (!job) continue;
      await job.changePriority({ priority: PRIORITIES.high, lifo: true });
      promoted++;
    }
  }
  return promoted;
}

/** Runs {@link promoteAgedJobs} every `intervalMs`; returns a function that stops it. */
export function startPriorityAging(
  target: { queue: ExecutionRunQueue; redis: Redis },
  options: { agingMs: number; intervalMs: number; onError: (err: unknown) => void },
): () => void {
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    promoteAgedJobs(target.queue, target.redis, { agingMs: options.agingMs, now: Date.now() })
      .catch(options.onError)
      .finally(() => (running = false));
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
