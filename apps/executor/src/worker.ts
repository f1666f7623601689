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
    if (spent && job.id)
      options.dlq
        .add(job.id, err.message)
        .catch((dlqErr: unknown) =>
          options.log.error(
            { err: dlqErr, jobId: job.id },
            'could not add to the dead-letter queue',
          ),
        );
  });
  worker.on('error', (err) => options.log.warn({ err }, 'worker error'));
  return worker;
}
