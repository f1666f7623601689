import type { SpawnedExecution } from '@linkflow/domain';
import type { EngineLogger, JobQueuePort } from '../ports.ts';

/**
 * Enqueues the error workflow's execution a failure started. Its row committed with the
 * failure, so a lost enqueue (Redis down, the process killed here) is not a lost run: the
 * sweeper enqueues a `pending` execution once its grace has passed. Never throws.
 */
export async function enqueueErrorWorkflow(
  queue: Pick<JobQueuePort, 'requeue'> | undefined,
  log: EngineLogger,
  spawned: SpawnedExecution,
): Promise<void> {
  const errorExecutionId = spawned.executionId;
  if (!queue) return log.info({ errorExecutionId }, 'error workflow started');
  await queue.requeue(spawned).then(
    () => log.info({ errorExecutionId }, 'error workflow started and enqueued'),
    (err: unknown) => log.warn({ err, errorExecutionId }, 'error workflow enqueue failed'),
  );
}
