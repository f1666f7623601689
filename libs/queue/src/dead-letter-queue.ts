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
   * Number of entries (for `linkflow_dlq_size` and the status route).
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  size(): Promise<number>;
  /**
   * Entries oldest first, `limit` from position `offset` (new entries join the far end, so
   * positions of earlier entries stay put while entries are added).
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  list(offset: number, limit: number): Promise<DeadLetterEntry[]>;
  /**
   * Where the entry `anchor` now is (its position from the oldest), or `fallback` when it is
   * gone: a page cursor names the first entry of the next page, so entries removed from
   * earlier pages (replayed, discarded) do not shift the next page past unseen entries.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  positionOf(anchor: string, fallback: number): Promise<number>;
  /**
   * The entry of an execution, or undefined.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  get(executionId: string): Promise<DeadLetterEntry | undefined>;
  /**
   * Removes an execution's entry; false when there was none.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  remove(executionId: string): Promise<boolean>;
  /** Closes the queue (not the shared connection). */
  close(): Promise<void>;
}

/** Name of the dead-letter queue that belongs to queue `name`. */
export function deadLetterQueueName(name: string): string {
  return `${name}-dlq`;
}

const systemClock: Clock = { now: () => new Date() };

/** Position from the tail (oldest) of ARGV[1] in list KEYS[1], searched from the tail; else ARGV[2]. */
const POSITION_FROM_OLDEST = `local pos = redis.call('LPOS', KEYS[1], ARGV[1], 'RANK', -1)
if not pos then return tonumber(ARGV[2]) end
return redis.call('LLEN', KEYS[1]) - 1 - pos`;

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
    size: () =>
      guarded('dlq.size', () => queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')),
    list: (offset, limit) =>
      guarded('dlq.list', async () => {
        const jobs = await queue.getJobs(['waiting'], offset, offset + limit - 1, true);
        return jobs.filter((j) => j !== undefined).map((j) => j.data);
      }),
    positionOf: (anchor, fallback) =>
      guarded('dlq.position', async () =>
        Number(
          await options.connection.eval(
            POSITION_FROM_OLDEST,
            1,
            queue.toKey('wait'),
            anchor,
            fallback,
          ),
        ),
      ),
    get: (executionId) => guarded('dlq.get', async () => (await queue.getJob(executionId))?.data),
    remove: (executionId) =>
      guarded('dlq.remove', async () => {
        // `Queue.remove` answers 1 for a missing id too: look first.
        if (!(await queue.getJob(executionId))) return false;
        return (await queue.remove(executionId)) === 1;
      }),
    close: () => queue.close(),
  };
}
