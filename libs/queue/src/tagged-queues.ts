import type { Redis } from 'ioredis';
import { tagSetKey, tagsOfKey } from '@linkflow/domain';
import {
  createExecutionQueue,
  type EnqueueRequest,
  type ExecutionJobStatus,
  type ExecutionQueue,
} from './execution-queue.ts';
import { DEFAULT_OPERATION_TIMEOUT_MS, runQueueOperation } from './queue-operation.ts';

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
    const added = await guarded('tagSets.add', () => connection.sadd(tagSetsKey(baseName), key));
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
