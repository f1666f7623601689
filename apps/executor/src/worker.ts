import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { EXECUTION_RUN_JOB, parseJobPayload, type ExecutionQueue } from '@linkflow/queue';
import { withExtractedContext, type Logger } from '@linkflow/telemetry';
import type { DeadLetterer } from './dead-letter.ts';
import {
  CompiledWorkflowCache,
  processExecution,
  type ProcessorDeps,
} from './run/execution-processor.ts';

export interface WorkerOptions {
  readonly connection: Redis;
  readonly queueName: string;
  readonly concurrency: number;
  readonly lockMs: number;
  readonly stalledIntervalMs: number;
  /** A job that stalled more often than this fails for good (BullMQ `maxStalledCount`). */
  readonly maxStalledCount: number;
  /** Reads a stalled job's counters (the producer-side queue). */
  readonly queue: Pick<ExecutionQueue, 'getJob'>;
  readonly deadLetterer: Pick<DeadLetterer, 'reliably'>;
  readonly log: Logger;
}

/** True when BullMQ gave up on a job for stalling too often (its worker crashed or hung). */
function stalledOut(job: Job, maxStalledCount: number): boolean {
  return job.stalledCounter > maxStalledCount;
}

/**
 * The BullMQ worker: each job carries only ids; the processor reads everything else
 * from Postgres. A payload that does not match the catalog is poison: it fails at once
 * (UnrecoverableError) and goes to the dead-letter queue, as does a job whose attempts
 * are spent or that stalled too often. A run stopped by shutdown goes back to the queue
 * at once; a run whose job lock was lost stops (the job's new holder continues it).
 */
export function createExecutionWorker(deps: ProcessorDeps, options: WorkerOptions): Worker {
  const cache = new CompiledWorkflowCache();
  const { log } = options;
  const worker = new Worker(
    options.queueName,
    async (job: Job, token?: string) => {
      const payload = parseJobPayload(EXECUTION_RUN_JOB, job.data);
      if (!payload.ok) throw new UnrecoverableError(`poison job payload: ${payload.error.message}`);
      const { execution_id: executionId, trace } = payload.value;
      const handedOver = await withExtractedContext(trace, () =>
        processExecution(deps, executionId, cache),
      );
      if (handedOver === 'shutdown' && token !== undefined) {
        // Back to waiting (same priority, no attempt or stall counted): another executor
        // resumes it from its checkpoints now rather than after the lock expires.
        await job.moveToWait(token);
        throw new WaitingError();
      }
    },
    {
      connection: options.connection,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
      autorun: false,
    },
  );
  worker.on('failed', (job, err) => job && deadLetterIfSpent(job, err, options));
  worker.on('stalled', (jobId) => void deadLetterIfStalledOut(jobId, options));
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const id of jobIds)
      if (deps.runs.stop(id, 'lease_lost'))
        log.warn({ executionId: id }, 'job lock lost; stopping the run for its new holder');
  });
  worker.on('error', (err) => log.warn({ err }, 'worker error'));
  return worker;
}

/**
 * A job fails for good when it is unrecoverable (poison payload, past the stall limit) or
 * its attempts are spent (infrastructure errors); otherwise BullMQ retries it later.
 */
function deadLetterIfSpent(job: Job, err: Error, options: WorkerOptions): void {
  if (!job.id) return;
  const spent =
    err instanceof UnrecoverableError ||
    stalledOut(job, options.maxStalledCount) ||
    job.attemptsMade >= (job.opts.attempts ?? 1);
  options.log.error(
    { err, jobId: job.id, attemptsMade: job.attemptsMade, stalled: job.stalledCounter },
    spent
      ? 'job failed for good; moving to the dead-letter queue'
      : 'job failed; BullMQ will retry',
  );
  if (spent) void options.deadLetterer.reliably(job.id, err.message);
}

/**
 * Past the stall limit BullMQ only marks the job and puts it back in the queue; it fails
 * when a worker next takes it, which may be much later when every slot is busy. The
 * execution is dead-lettered as soon as the stall is seen instead.
 */
async function deadLetterIfStalledOut(jobId: string, options: WorkerOptions): Promise<void> {
  try {
    const job = await options.queue.getJob(jobId);
    if (!job || !stalledOut(job, options.maxStalledCount)) {
      options.log.warn(
        { jobId, stalled: job?.stalledCounter },
        'job stalled; another worker takes it',
      );
      return;
    }
    const reason = `${job.deferredFailure ?? 'job stalled more than allowable limit'} (stalled ${job.stalledCounter} times: its executor crashed or lost the job lock)`;
    options.log.error({ jobId, stalled: job.stalledCounter }, 'job stalled out; dead-lettering');
    await options.deadLetterer.reliably(jobId, reason);
  } catch (err) {
    // The job still fails when a worker takes it next, and the sweeper catches up.
    options.log.warn({ err, jobId }, 'could not inspect a stalled job');
  }
}

/** Whether the worker's fetch loop still runs (readiness). */
export interface WorkerLoop {
  readonly running: boolean;
}

/**
 * Starts the worker's fetch loop. When the loop rejects (it should not; a bug or a broken
 * connection), the executor takes no more jobs: the error is logged, readiness turns
 * unavailable and `onFailed` lets the process exit so a supervisor restarts it.
 */
export function runWorkerLoop(
  worker: Pick<Worker, 'run'>,
  options: { log: Logger; onFailed: (err: unknown) => void },
): WorkerLoop {
  const loop = { running: true };
  worker.run().then(
    () => {
      loop.running = false;
    },
    (err: unknown) => {
      loop.running = false;
      options.log.error({ err }, 'worker loop failed; no more jobs are taken');
      options.onFailed(err);
    },
  );
  return loop;
}
