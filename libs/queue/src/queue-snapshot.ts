import type { DeadLetterQueue } from './dead-letter-queue.ts';
import type { ExecutionQueue } from './execution-queue.ts';
import { PRIORITIES } from './job-catalog.ts';

/** States counted per state only (BullMQ keeps no per-priority count of these). */
const STATES = ['active', 'delayed', 'failed'] as const;

/** Jobs of one queue in one state and priority (libs/telemetry's `QueueJobCount`). */
export interface QueueJobCount {
  readonly queue: string;
  readonly state: string;
  readonly priority: string;
  readonly count: number;
}

/** The queue's counts and the DLQ's size at one moment. */
export interface QueueSnapshot {
  readonly jobs: readonly QueueJobCount[];
  readonly dlqSize: number;
}

/**
 * Reads what the execution queue holds, for `linkflow_queue_jobs` and `linkflow_dlq_size`:
 * waiting jobs (BullMQ's waiting and prioritized sets; every job has a priority) by
 * priority name, and active, delayed and failed jobs with `priority: 'all'`. Three Redis
 * round trips, issued together.
 * @throws AppError `QUEUE_UNAVAILABLE` from the DLQ, or ioredis errors, when Redis fails.
 */
export async function readQueueSnapshot(deps: {
  readonly queue: Pick<ExecutionQueue, 'name' | 'queue'>;
  readonly dlq: Pick<DeadLetterQueue, 'size'>;
}): Promise<QueueSnapshot> {
  const { name, queue } = deps.queue;
  const [counts, byPriority, dlqSize] = await Promise.all([
    queue.getJobCounts(...STATES),
    queue.getCountsPerPriority(Object.values(PRIORITIES)),
    deps.dlq.size(),
  ]);
  const jobs: QueueJobCount[] = Object.entries(PRIORITIES).map(([priority, number]) => ({
    queue: name,
    state: 'waiting',
    priority,
    count: byPriority[String(number)] ?? 0,
  }));
  for (const state of STATES)
    jobs.push({ queue: name, state, priority: 'all', count: counts[state] ?? 0 });
  return { jobs, dlqSize };
}
