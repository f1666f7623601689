import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import {
  deadLetterIfSpent,
  deadLetterIfStalledOut,
  type Engine,
  type JobFailureDeps,
} from '@linkflow/engine';
import {
  EXECUTION_RUN_JOB,
  parseJobPayload,
  type ExecutionQueue,
  type Redis,
} from '@linkflow/queue';
import { withExtractedContext, type Logger } from '@linkflow/telemetry';
import { readStalledJob } from './adapters/engine-ports.ts';

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
  readonly log: Logger;
}

/**
 * The BullMQ worker: each job carries only ids; the engine reads everything else from
 * Postgres. A payload that does not match the catalog is poison: it fails at once
 * (UnrecoverableError) and goes to the dead-letter queue, as does a job whose attempts
 * are spent or that stalled too often. A run stopped by shutdown goes back to the queue
 * at once; a run whose job lock was lost stops (the job's new holder continues it).
 */
export function createExecutionWorker(
  engine: Pick<Engine, 'process' | 'runs' | 'deadLetterer'>,
  options: WorkerOptions,
): Worker {
  const { log } = options;
  const worker = new Worker(
    options.queueName,
    async (job: Job, token?: string) => {
      const payload = parseJobPayload(EXECUTION_RUN_JOB, job.data);
      if (!payload.ok) throw new UnrecoverableError(`poison job payload: ${payload.error.message}`);
      const { execution_id: executionId, trace } = payload.value;
      const handedOver = await withExtractedContext(trace, () => engine.process(executionId));
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
  const failures: JobFailureDeps = {
    deadLetterer: engine.deadLetterer,
    log,
    maxStalledCount: options.maxStalledCount,
    readStalled: (jobId) => readStalledJob(options.queue, jobId),
  };
  worker.on('failed', (job, error) => {
    if (!job?.id) return;
    const failure = {
      jobId: job.id,
      error,
      unrecoverable: error instanceof UnrecoverableError,
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      stalledCount: job.stalledCounter,
    };
    deadLetterIfSpent(failure, failures);
  });
  worker.on('stalled', (jobId) => void deadLetterIfStalledOut(jobId, failures));
  worker.on('lockRenewalFailed', (jobIds) => {
    for (const id of jobIds)
      if (engine.runs.stop(id, 'lease_lost'))
        log.warn({ executionId: id }, 'job lock lost; stopping the run for its new holder');
  });
  worker.on('error', (err) => log.warn({ err }, 'worker error'));
  return worker;
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
