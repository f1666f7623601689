import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { EXECUTION_RUN_JOB, parseJobPayload } from './job-catalog.ts';
import type { ExecutionQueue } from './execution-queue.ts';
import { readStalledJob, type StalledJobCounters } from './job-queue-port.ts';
import type { QueueLogger } from './queue-log.ts';
import type { Redis } from './redis-connection.ts';

/** A failed job as BullMQ reports it (job id = execution id). */
export interface ExecutionJobFailure {
  readonly jobId: string;
  readonly error: Error;
  /** The job was failed as unrecoverable (poison payload, past the stall limit). */
  readonly unrecoverable: boolean;
  readonly attemptsMade: number;
  readonly maxAttempts: number;
  /** How often the job stalled (its worker crashed or lost the job lock). */
  readonly stalledCount: number;
}

/**
 * What a worker does with its jobs; it knows nothing else of executions. The executor wires
 * these to the engine (run, dead-letter decisions, stopping runs).
 */
export interface ExecutionJobHandlers {
  /**
   * Runs one execution, inside the trace context its job carried where the caller restores it.
   * Resolving to `'shutdown'` gives the job back to the queue at once.
   */
  process(
    executionId: string,
    trace: Readonly<Record<string, string>> | undefined,
  ): Promise<unknown>;
  /** A job failed (it may be retried by BullMQ or be spent). */
  onFailed(failure: ExecutionJobFailure): void;
  /** A job stalled; `readStalled` reads its counters from its own queue. */
  onStalled(
    jobId: string,
    readStalled: (jobId: string) => Promise<StalledJobCounters | undefined>,
  ): void;
  /** The worker could not renew these jobs' locks: another worker may hold them now. */
  onLockLost(jobIds: readonly string[]): void;
}

/** Options of {@link createExecutionWorker}. */
export interface ExecutionWorkerOptions {
  readonly connection: Redis;
  readonly queueName: string;
  readonly concurrency: number;
  readonly lockMs: number;
  readonly stalledIntervalMs: number;
  /** A job that stalled more often than this fails for good (BullMQ `maxStalledCount`). */
  readonly maxStalledCount: number;
  /** Reads a stalled job's counters (the producer-side queue). */
  readonly queue: Pick<ExecutionQueue, 'getJob'>;
  readonly log: QueueLogger;
}

/**
 * The BullMQ worker: each job carries only ids; the handler reads everything else from
 * Postgres. A payload that does not match the catalog is poison: it fails at once
 * (UnrecoverableError; `onFailed` decides on dead-lettering). A run stopped by shutdown
 * goes back to the queue at once. The worker is created stopped: see {@link runWorkerLoop}.
 */
export function createExecutionWorker(
  handlers: ExecutionJobHandlers,
  options: ExecutionWorkerOptions,
): Worker {
  const worker = new Worker(
    options.queueName,
    async (job: Job, token?: string) => {
      const payload = parseJobPayload(EXECUTION_RUN_JOB, job.data);
      if (!payload.ok) throw new UnrecoverableError(`poison job payload: ${payload.error.message}`);
      const { execution_id: executionId, trace } = payload.value;
      const handedOver = await handlers.process(executionId, trace);
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
  worker.on('failed', (job, error) => {
    if (!job?.id) return;
    handlers.onFailed({
      jobId: job.id,
      error,
      unrecoverable: error instanceof UnrecoverableError,
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      stalledCount: job.stalledCounter,
    });
  });
  worker.on('stalled', (jobId) =>
    handlers.onStalled(jobId, (id) => readStalledJob(options.queue, id)),
  );
  worker.on('lockRenewalFailed', (jobIds) => handlers.onLockLost(jobIds));
  worker.on('error', (err) => options.log.warn({ err }, 'worker error'));
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
  options: { log: Pick<QueueLogger, 'error'>; onFailed: (err: unknown) => void },
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
