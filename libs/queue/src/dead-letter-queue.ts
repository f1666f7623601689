import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '@linkflow/domain';
import { Value } from '@sinclair/typebox/value';
import { JobIdSchema, schemaProblems } from './job-catalog.ts';
import { queueErrors } from './queue-errors.ts';
import {
  DEFAULT_OPERATION_TIMEOUT_MS,
  forwardQueueErrors,
  runQueueOperation,
} from './queue-operation.ts';

/** Job name of dead-letter entries. */
export const DEAD_LETTER_JOB = 'execution.dead';

/** Longest reason kept; longer ones are cut so one poisoned job cannot bloat Redis. */
export const MAX_DEAD_LETTER_REASON = 2_000;

/** What a dead-letter job holds: the execution and why it could not be processed. */
export interface DeadLetterEntry {
  readonly execution_id: string;
  readonly reason: string;
  /** ISO-8601 UTC time the entry was added. */
  readonly dead_at: string;
}

/** The BullMQ queue type of the dead-letter queue. */
export type DeadLetterBullQueue = Queue<DeadLetterEntry, unknown, typeof DEAD_LETTER_JOB>;

/** Options for {@link createDeadLetterQueue}. */
export interface DeadLetterQueueOptions {
  /** A `producer` or `worker` connection; shared, never closed by the queue. */
  readonly connection: Redis;
  /** Name of the *main* queue; the DLQ is `${name}-dlq`. */
  readonly name: string;
  /** Source of `dead_at`; defaults to the system clock. */
  readonly clock?: Clock;
  /** Deadline of each operation; defaults to {@link DEFAULT_OPERATION_TIMEOUT_MS}. */
  readonly operationTimeoutMs?: number;
  /** Receives the queue's `error` events (connection errors); ignored when absent. */
  readonly onError?: (err: Error) => void;
}

/** Handle on the dead-letter queue. No worker consumes it: entries wait for an operator. */
export interface DeadLetterQueue {
  /** The DLQ's own name (`${name}-dlq`). */
  readonly name: string;
  /** The raw BullMQ queue, for admin routes (list, replay, delete). */
  readonly queue: DeadLetterBullQueue;
  /**
   * Records that an execution could not be processed; job id = execution id, so a second
   * add for the same execution keeps the first entry and reason. Returns the job id.
   * @throws AppError `INVALID_JOB_PAYLOAD` when the execution id cannot be a job id.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  add(executionId: string, reason: string): Promise<string>;
  /**
   * Removes the entry of an execution (recovered, so no longer dead); false when it has none.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  remove(executionId: string): Promise<boolean>;
  /**
   * Number of entries (for `linkflow_dlq_size` and the status route).
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  size(): Promise<number>;
  /** Closes the queue (not the shared connection). */
  close(): Promise<void>;
}

/** Name of the dead-letter queue that belongs to queue `name`. */
export function deadLetterQueueName(name: string): string {
  return `${name}-dlq`;
}

const systemClock: Clock = { now: () => new Date() };

/** Creates the dead-letter queue of the main queue `name`. */
export function createDeadLetterQueue(options: DeadLetterQueueOptions): DeadLetterQueue {
  const name = deadLetterQueueName(options.name);
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const queue: DeadLetterBullQueue = new Queue(name, { connection: options.connection });
  forwardQueueErrors(queue, options.onError);
  const guarded = <T>(operation: string, run: () => Promise<T>): Promise<T> =>
    runQueueOperation({ operation, queue: name, timeoutMs }, run);

  async function add(executionId: string, reason: string): Promise<string> {
    if (!Value.Check(JobIdSchema, executionId)) {
      throw queueErrors.invalidJobPayload(
        DEAD_LETTER_JOB,
        schemaProblems(JobIdSchema, executionId),
      );
    }
    const entry: DeadLetterEntry = {
      execution_id: executionId,
      reason: reason.slice(0, MAX_DEAD_LETTER_REASON),
      dead_at: clock.now().toISOString(),
    };
    const job = await guarded('dlq.add', () =>
      queue.add(DEAD_LETTER_JOB, entry, { jobId: executionId, removeOnComplete: true }),
    );
    return job.id ?? executionId;
  }

  return {
    name,
    queue,
    add,
    remove: async (executionId) =>
      (await guarded('dlq.remove', () => queue.remove(executionId))) === 1,
    size: () =>
      guarded('dlq.size', () => queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')),
    close: () => queue.close(),
  };
}
