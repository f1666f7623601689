import type { Redis } from 'ioredis';
import { tagSetKey, tagsOfKey } from '@linkflow/domain';
import {
  createExecutionQueue,
  type EnqueueRequest,
  type ExecutionJobStatus,
  type ExecutionQueue,
} from './execution-queue.ts';
import { queueErrors } from './queue-errors.ts';
import { DEFAULT_OPERATION_TIMEOUT_MS, runQueueOperation } from './queue-operation.ts';

/**
 * Most distinct tag sets one queue set holds. Every tag set is a BullMQ queue that the status
 * and pause routes read one by one and that each covering executor consumes with its own
 * worker (and Redis connection), so tenants must not be able to create them without bound.
 */
export const MAX_TAG_SETS = 100;

/** Adds a tag set unless the set of tag sets is full: 1 added, 0 known, -1 full (atomic). */
const ADMIT_TAG_SET = `if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
return redis.call('SADD', KEYS[1], ARGV[1])`;

/**
 * Name of the queue that carries executions requiring `tags`: the base name for untagged
 * executions, `<base>@<sorted tags joined by ,>` otherwise (`executions@eu,gpu`). BullMQ
 * forbids `:` in queue names, hence `@`.
 */
export function taggedQueueName(base: string, tags: readonly string[] | undefined): string {
  const key = tagSetKey(tags);
  return key === '' ? base : `${base}@${key}`;
}

/** Redis set of the tag sets (their {@link tagSetKey}s) that producers have enqueued to. */
export function tagSetsKey(base: string): string {
  return `linkflow:${base}:tag-sets`;
}

/** An enqueue routed by the execution's workflow `settings.worker_tags`. */
export interface RoutedEnqueueRequest extends EnqueueRequest {
  readonly workerTags?: readonly string[] | undefined;
}

/**
 * The execution queues of one base name, one BullMQ queue per distinct tag set: routing by
 * queue lets an executor consume exactly the queues whose tag set it covers, so an
 * execution is never fetched by an executor that cannot run it (and waits, visible, while
 * no live executor can).
 */
export interface ExecutionQueues {
  readonly baseName: string;
  /** The untagged queue. */
  readonly base: ExecutionQueue;
  /** The queue of one tag set, opened on first use on the shared connection. */
  forTags(tags: readonly string[] | undefined): ExecutionQueue;
  /**
   * Every tag set with a queue: untagged (`[]`) first, then each set ever enqueued to.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  tagSets(): Promise<string[][]>;
  /**
   * Records a tag set so its executions can be queued (a no-op for untagged or known sets);
   * producers call it before they store an execution.
   * @throws AppError `TOO_MANY_TAG_SETS` when {@link ExecutionQueuesOptions.maxTagSets} are in use.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  admitTags(tags: readonly string[] | undefined): Promise<void>;
  /**
   * Adds the execution's job to the queue of its tag set (recording a new tag set first,
   * and pausing its queue when the untagged one is paused, so a pause covers it too).
   * @throws AppError `QUEUE_UNAVAILABLE`, `INVALID_JOB_PAYLOAD` as {@link ExecutionQueue.enqueue}.
   */
  enqueue(request: RoutedEnqueueRequest): Promise<string>;
  /** {@link ExecutionQueue.requeue} into the queue of the request's tag set. */
  requeue(request: RoutedEnqueueRequest): Promise<boolean>;
  /** {@link ExecutionQueue.status} in the queue of `tags`. */
  status(executionId: string, tags: readonly string[] | undefined): Promise<ExecutionJobStatus>;
  /** Removes a pending execution's job from whichever queue holds it (see {@link ExecutionQueue.remove}). */
  remove(executionId: string): Promise<boolean>;
  /** Whether the producer connection is up now: callers fail fast (503) instead of waiting. */
  isConnected(): boolean;
  /** Closes the queues opened here (not the base queue, not the connection). */
  close(): Promise<void>;
}

/** Options of {@link createExecutionQueues}. */
export interface ExecutionQueuesOptions {
  /** The untagged queue; its name is the base name and its connection is shared. */
  readonly base: ExecutionQueue;
  readonly connection: Redis;
  readonly operationTimeoutMs?: number;
  readonly onError?: (err: Error) => void;
  /** Defaults to {@link MAX_TAG_SETS}. */
  readonly maxTagSets?: number;
}

/** Builds the tag-routed queue set over an existing untagged queue. */
export function createExecutionQueues(options: ExecutionQueuesOptions): ExecutionQueues {
  const { base, connection } = options;
  const baseName = base.name;
  const opened = new Map<string, ExecutionQueue>();
  const timeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const guarded = <T>(operation: string, run: () => Promise<T>): Promise<T> =>
    runQueueOperation({ operation, queue: baseName, timeoutMs }, run);

  const forTags = (tags: readonly string[] | undefined): ExecutionQueue => {
    const key = tagSetKey(tags);
    if (key === '') return base;
    let queue = opened.get(key);
    if (!queue) {
      queue = createExecutionQueue({
        connection,
        name: taggedQueueName(baseName, tags),
        operationTimeoutMs: timeoutMs,
        ...(options.onError ? { onError: options.onError } : {}),
      });
      opened.set(key, queue);
    }
    return queue;
  };

  /** Records the tag set (executors poll the set) before its first job is added. */
  const register = async (tags: readonly string[] | undefined): Promise<void> => {
    const key = tagSetKey(tags);
    if (key === '') return;
    const max = options.maxTagSets ?? MAX_TAG_SETS;
    const added = await guarded('tagSets.add', () =>
      connection.eval(ADMIT_TAG_SET, 1, tagSetsKey(baseName), key, max),
    );
    if (added === -1) throw queueErrors.tooManyTagSets(key, max);
    if (added === 1 && (await guarded('isPaused', () => base.queue.isPaused())))
      await guarded('pause', () => forTags(tags).queue.pause());
  };

  async function tagSets(): Promise<string[][]> {
    const keys = await guarded('tagSets', () => connection.smembers(tagSetsKey(baseName)));
    return [[], ...keys.sort().map(tagsOfKey)];
  }

  return {
    baseName,
    base,
    forTags,
    tagSets,
    admitTags: register,
    async enqueue(request) {
      await register(request.workerTags);
      return forTags(request.workerTags).enqueue(request);
    },
    async requeue(request) {
      await register(request.workerTags);
      return forTags(request.workerTags).requeue(request);
    },
    status: (executionId, tags) => forTags(tags).status(executionId),
    async remove(executionId) {
      for (const tags of await tagSets()) if (await forTags(tags).remove(executionId)) return true;
      return false;
    },
    isConnected: () => connection.status === 'ready',
    async close() {
      await Promise.allSettled([...opened.values()].map((q) => q.close()));
      opened.clear();
    },
  };
}
