import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { EXECUTION_RUN_JOB, parseJobPayload, type DeadLetterQueue } from '@linkflow/queue';
import { withExtractedContext, type Logger } from '@linkflow/telemetry';
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
  readonly dlq: Pick<DeadLetterQueue, 'add'>;
  readonly log: Logger;
}

/** Puts a spent job in the DLQ and records the execution as failed in Postgres. */
async function deadLetter(
  deps: ProcessorDeps,
  options: WorkerOptions,
  jobId: string,
  reason: string,
): Promise<void> {
  const results = await Promise.allSettled([
    options.dlq.add(jobId, reason),
    deps.runStore.markDead(jobId, reason, deps.clock.now()),
  ]);
  for (const r of results)
    if (r.status === 'rejected')
      options.log.error({ err: r.reason as unknown, jobId }, 'dead-lettering failed');
}

/**
 * The BullMQ worker: each job carries only ids; the processor reads everything else
 * from Postgres. A payload that does not match the catalog is poison: it fails at once
 * (UnrecoverableError) and goes to the dead-letter queue, as does a job whose attempts
 * are spent or that stalled too often.
 */
export function createExecutionWorker(deps: ProcessorDeps, options: WorkerOptions): Worker {
  const cache = new CompiledWorkflowCache();
  const worker = new Worker(
    options.queueName,
    async (job: Job) => {
      const payload = parseJobPayload(EXECUTION_RUN_JOB, job.data);
      if (!payload.ok) throw new UnrecoverableError(`poison job payload: ${payload.error.message}`);
      const { execution_id: executionId, trace } = payload.value;
      await withExtractedContext(trace, () => processExecution(deps, executionId, cache));
    },
    {
      connection: options.connection,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: 2,
      autorun: false,
    },
  );
  worker.on('failed', (job, err) => {
    if (!job) return;
    const spent =
      err instanceof UnrecoverableError ||
      job.attemptsMade >= (job.opts.attempts ?? 1) ||
      err.message.includes('stalled');
    options.log.error(
      { err, jobId: job.id, attemptsMade: job.attemptsMade },
      spent
        ? 'job failed for good; moving to the dead-letter queue'
        : 'job failed; BullMQ will retry',
    );
    if (spent && job.id) void deadLetter(deps, options, job.id, err.message);
  });
  worker.on('error', (err) => options.log.warn({ err }, 'worker error'));
  return worker;
}
