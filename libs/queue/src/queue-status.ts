import type { Redis } from 'ioredis';
import { canTakeTags, PRIORITY_NAMES, type Priority } from '@linkflow/domain';
import type { DeadLetterQueue } from './dead-letter-queue.ts';
import type { ExecutionRunQueue } from './execution-queue.ts';
import { PRIORITIES } from './job-catalog.ts';
import { DEFAULT_OPERATION_TIMEOUT_MS, runQueueOperation } from './queue-operation.ts';
import type { ExecutionQueues } from './tagged-queues.ts';
import type { WorkerInfo, WorkerRegistry } from './worker-registry.ts';

/** Job counts of one queue; `waiting` includes BullMQ's prioritized jobs. */
export interface QueueCounts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly completed: number;
  readonly failed: number;
}

/** One queue as `GET /api/admin/queue/status` shows it. */
export interface QueueState {
  readonly name: string;
  readonly paused: boolean;
  readonly counts: QueueCounts;
  readonly waiting_by_priority: Readonly<Record<Priority, number>>;
  /** Age of the oldest waiting job, 0 when none waits. */
  readonly oldest_waiting_ms: number;
}

/** The whole answer of `GET /api/admin/queue/status`. */
export interface QueueStatus {
  readonly queues: QueueState[];
  readonly dlq_size: number;
  /** Live executors (registered, heartbeating). */
  readonly workers: number;
  /**
   * Executions waiting in a queue whose tag set no live executor covers: they stay queued
   * (nothing is lost) until an executor with those tags joins.
   */
  readonly unroutable: number;
}

/** What {@link readQueueStatus} reads. */
export interface QueueStatusDeps {
  readonly queues: ExecutionQueues;
  readonly dlq: Pick<DeadLetterQueue, 'size'>;
  readonly workers: Pick<WorkerRegistry, 'list'>;
  /** The producer connection the queues share (for the oldest-job reads). */
  readonly redis: Redis;
  readonly now: () => number;
  readonly operationTimeoutMs?: number;
}

/** Score width of one priority in BullMQ's prioritized set (see priority-aging.ts). */
const TIER = 0x100000000;

/** Age of the oldest waiting job: the plain wait list's tail and each priority's first job. */
async function oldestWaitingMs(q: ExecutionRunQueue, redis: Redis, now: number): Promise<number> {
  const prioritized = q.toKey('prioritized');
  const firsts = await Promise.all([
    redis.lindex(q.toKey('wait'), -1),
    ...Object.values(PRIORITIES).map((p) =>
      redis.zrangebyscore(prioritized, p * TIER, `(${(p + 1) * TIER}`, 'LIMIT', 0, 1),
    ),
  ]);
  const ids = firsts.flat().filter((id): id is string => typeof id === 'string');
  if (ids.length === 0) return 0;
  const stamps = await Promise.all(ids.map((id) => redis.hget(q.toKey(id), 'timestamp')));
  const oldest = Math.min(...stamps.map(Number).filter(Number.isFinite));
  return Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0;
}

async function readOne(q: ExecutionRunQueue, redis: Redis, now: number): Promise<QueueState> {
  const [c, byNumber, paused, oldest] = await Promise.all([
    q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'),
    q.getCountsPerPriority(Object.values(PRIORITIES)),
    q.isPaused(),
    oldestWaitingMs(q, redis, now),
  ]);
  const n = (state: string) => c[state] ?? 0;
  const byPriority = Object.fromEntries(
    PRIORITY_NAMES.map((p) => [p, byNumber[String(PRIORITIES[p])] ?? 0]),
  ) as Record<Priority, number>;
  return {
    name: q.name,
    paused,
    counts: {
      waiting: n('waiting') + n('prioritized'),
      active: n('active'),
      delayed: n('delayed'),
      completed: n('completed'),
      failed: n('failed'),
    },
    waiting_by_priority: byPriority,
    oldest_waiting_ms: oldest,
  };
}

function isRoutable(tags: readonly string[], workers: readonly WorkerInfo[]): boolean {
  return workers.some((w) => canTakeTags(w.tags, tags));
}

/**
 * Reads every execution queue (untagged and each tag set), the DLQ size and the live
 * executors, and counts as unroutable the waiting and delayed jobs of queues no live
 * executor consumes.
 * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or does not answer in time.
 */
export async function readQueueStatus(deps: QueueStatusDeps): Promise<QueueStatus> {
  const scope = {
    operation: 'queue.status',
    queue: deps.queues.baseName,
    timeoutMs: deps.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
  };
  return runQueueOperation(scope, async () => {
    const [tagSets, workers, dlqSize] = await Promise.all([
      deps.queues.tagSets(),
      deps.workers.list(),
      deps.dlq.size(),
    ]);
    const now = deps.now();
    const states = await Promise.all(
      tagSets.map((tags) => readOne(deps.queues.forTags(tags).queue, deps.redis, now)),
    );
    const unroutable = states
      .filter((_, i) => !isRoutable(tagSets[i] ?? [], workers))
      .reduce((sum, s) => sum + s.counts.waiting + s.counts.delayed, 0);
    return { queues: states, dlq_size: dlqSize, workers: workers.length, unroutable };
  });
}

/**
 * Pauses (or resumes) every execution queue: workers take no new job while running ones
 * finish. The flag lives in Redis (BullMQ's queue meta), so it outlives API restarts.
 * Returns the names of the queues changed.
 * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
 */
export async function setQueuesPaused(
  queues: ExecutionQueues,
  paused: boolean,
  timeoutMs = DEFAULT_OPERATION_TIMEOUT_MS,
): Promise<string[]> {
  const scope = { operation: paused ? 'pause' : 'resume', queue: queues.baseName, timeoutMs };
  return runQueueOperation(scope, async () => {
    const tagSets = await queues.tagSets();
    const targets = tagSets.map((tags) => queues.forTags(tags).queue);
    await Promise.all(targets.map((q) => (paused ? q.pause() : q.resume())));
    return targets.map((q) => q.name);
  });
}
