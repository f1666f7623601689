import { createDeadLetterQueue, type DeadLetterQueue } from './dead-letter-queue.ts';
import { createExecutionQueue, type ExecutionQueue } from './execution-queue.ts';
import { readQueueSnapshot, type QueueSnapshot } from './queue-snapshot.ts';
import type { Redis } from './redis-connection.ts';
import { createExecutionQueues, type ExecutionQueues } from './tagged-queues.ts';

/** An executor's producer-side queues: the untagged queue, its tag-set queues and the DLQ. */
export interface ExecutorQueues {
  readonly queue: ExecutionQueue;
  /** Every tag set's queue over `queue` (requeues, job status). */
  readonly queues: ExecutionQueues;
  readonly dlq: DeadLetterQueue;
  /**
   * The untagged queue's counts and the DLQ's size (see {@link readQueueSnapshot}).
   * @throws AppError `QUEUE_UNAVAILABLE`, or ioredis errors, when Redis fails.
   */
  snapshot(): Promise<QueueSnapshot>;
  /** Closes every queue (never throws); the connection stays open. */
  close(): Promise<void>;
}

/** Opens the queues of base queue `name` on a shared `producer` connection. */
export function openExecutorQueues(options: { connection: Redis; name: string }): ExecutorQueues {
  const { connection, name } = options;
  const queue = createExecutionQueue({ connection, name });
  const dlq = createDeadLetterQueue({ connection, name });
  const queues = createExecutionQueues({ base: queue, connection });
  return {
    queue,
    queues,
    dlq,
    snapshot: () => readQueueSnapshot({ queue, dlq }),
    async close() {
      await Promise.allSettled([queues.close(), queue.close(), dlq.close()]);
    },
  };
}
