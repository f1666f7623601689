import type { EngineLogger } from '../ports.ts';
import type { DeadLetterer } from './dead-letter.ts';

/** A failed job as the queue reports it (job id = execution id). */
export interface JobFailure {
  readonly jobId: string;
  readonly error: Error;
  /** The job was failed as unrecoverable (poison payload, past the stall limit). */
  readonly unrecoverable: boolean;
  readonly attemptsMade: number;
  readonly maxAttempts: number;
  /** How often the job stalled (its worker crashed or lost the job lock). */
  readonly stalledCount: number;
}

/** A stalled job's counters, read back from the queue. */
export interface StalledJob {
  readonly stalledCount: number;
  /** The failure the queue holds back until a worker takes the job next. */
  readonly deferredFailure: string | undefined;
}

/** What the dead-letter decision needs. */
export interface JobFailureDeps {
  readonly deadLetterer: Pick<DeadLetterer, 'reliably'>;
  readonly log: EngineLogger;
  /** A job that stalled more often than this fails for good. */
  readonly maxStalledCount: number;
  /** Reads a stalled job's counters; undefined when the job is gone. */
  readonly readStalled: (jobId: string) => Promise<StalledJob | undefined>;
}

/**
 * A job fails for good when it is unrecoverable, stalled too often or its attempts are spent
 * (infrastructure errors): its execution is dead-lettered. Otherwise the queue retries it.
 */
export function deadLetterIfSpent(
  failure: JobFailure,
  deps: Omit<JobFailureDeps, 'readStalled'>,
): void {
  const spent =
    failure.unrecoverable ||
    failure.stalledCount > deps.maxStalledCount ||
    failure.attemptsMade >= failure.maxAttempts;
  deps.log.error(
    {
      err: failure.error,
      jobId: failure.jobId,
      attemptsMade: failure.attemptsMade,
      stalled: failure.stalledCount,
    },
    spent
      ? 'job failed for good; moving to the dead-letter queue'
      : 'job failed; BullMQ will retry',
  );
  if (spent) void deps.deadLetterer.reliably(failure.jobId, failure.error.message);
}

/**
 * Past the stall limit the queue only marks the job and puts it back; it fails when a
 * worker next takes it, which may be much later when every slot is busy. The execution is
 * dead-lettered as soon as the stall is seen instead.
 */
export async function deadLetterIfStalledOut(jobId: string, deps: JobFailureDeps): Promise<void> {
  try {
    const job = await deps.readStalled(jobId);
    if (!job || job.stalledCount <= deps.maxStalledCount) {
      deps.log.warn({ jobId, stalled: job?.stalledCount }, 'job stalled; another worker takes it');
      return;
    }
    const reason = `${job.deferredFailure ?? 'job stalled more than allowable limit'} (stalled ${job.stalledCount} times: its executor crashed or lost the job lock)`;
    deps.log.error({ jobId, stalled: job.stalledCount }, 'job stalled out; dead-lettering');
    await deps.deadLetterer.reliably(jobId, reason);
  } catch (err) {
    // The job still fails when a worker takes it next, and the sweeper catches up.
    deps.log.warn({ err, jobId }, 'could not inspect a stalled job');
  }
}
