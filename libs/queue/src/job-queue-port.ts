import { isLiveJobState, type ExecutionQueue } from './execution-queue.ts';
import type { ExecutionQueues } from './tagged-queues.ts';

/** What the queue says about an execution's job (the engine's `JobStanding`). */
export type ExecutionJobStanding =
  | { readonly kind: 'live' }
  | { readonly kind: 'failed'; readonly reason: string | undefined; readonly failedAt?: Date }
  | { readonly kind: 'none' };

/** The BullMQ execution queues as the sweeper sees them (the engine's `JobQueuePort`). */
export interface SweeperQueue {
  /** @throws AppError `QUEUE_UNAVAILABLE` when the queue does not answer. */
  standing(executionId: string, workerTags: readonly string[]): Promise<ExecutionJobStanding>;
  /** @throws AppError `QUEUE_UNAVAILABLE` when the queue does not answer. */
  requeue: ExecutionQueues['requeue'];
}

/** The sweeper's view of the BullMQ execution queues (the one of each execution's tag set). */
export function jobQueuePort(queues: Pick<ExecutionQueues, 'status' | 'requeue'>): SweeperQueue {
  return {
    async standing(executionId, workerTags) {
      const job = await queues.status(executionId, workerTags);
      if (isLiveJobState(job.state)) return { kind: 'live' };
      if (job.state !== 'failed') return { kind: 'none' };
      const failed = { kind: 'failed', reason: job.failedReason } as const;
      return job.finishedOn === undefined
        ? failed
        : { ...failed, failedAt: new Date(job.finishedOn) };
    },
    requeue: (request) => queues.requeue(request),
  };
}

/** A stalled job's counters (the engine's `StalledJob`). */
export interface StalledJobCounters {
  readonly stalledCount: number;
  /** The failure BullMQ holds back until a worker takes the job next. */
  readonly deferredFailure: string | undefined;
}

/** A stalled job's counters from BullMQ (for the engine's dead-letter decision). */
export async function readStalledJob(
  queue: Pick<ExecutionQueue, 'getJob'>,
  jobId: string,
): Promise<StalledJobCounters | undefined> {
  const job = await queue.getJob(jobId);
  return job && { stalledCount: job.stalledCounter, deferredFailure: job.deferredFailure };
}
