import type { Worker } from 'bullmq';
import { canTakeTags, tagSetKey, tagsOfKey } from '@linkflow/domain';
import {
  createExecutionWorker,
  runWorkerLoop,
  type ExecutionJobHandlers,
  type WorkerLoop,
} from './execution-worker.ts';
import { startPriorityAging } from './priority-aging.ts';
import type { QueueLogger } from './queue-log.ts';
import type { Redis } from './redis-connection.ts';
import type { ExecutionQueues } from './tagged-queues.ts';

/** How the consumers take jobs (the executor's configuration). */
export interface ConsumerOptions {
  /** Executions one worker takes at once. */
  readonly concurrency: number;
  readonly lockMs: number;
  readonly stalledIntervalMs: number;
  readonly maxStalledCount: number;
  /** This executor's worker tags: it consumes every tag-set queue whose tags it all has. */
  readonly tags: readonly string[];
  /** A normal or low job waiting this long jumps to the front of the high priority. */
  readonly priorityAgingMs: number;
}

/** What {@link createQueueConsumers} builds workers from. */
export interface QueueConsumerDeps {
  /** What every worker does with its jobs. */
  readonly handlers: ExecutionJobHandlers;
  readonly queues: ExecutionQueues;
  readonly config: ConsumerOptions;
  /** The `worker` connection (reconnects for ever); BullMQ duplicates it per worker. */
  readonly workerRedis: Redis;
  /** The `producer` connection, for priority aging. */
  readonly producerRedis: Redis;
  readonly log: QueueLogger;
  /** A worker's fetch loop failed: the process should exit (see runWorkerLoop). */
  readonly onFatal: (err: unknown) => void;
}

/** The BullMQ workers of one executor: one per queue whose tag set it covers. */
export interface QueueConsumers {
  /**
   * Starts a worker for every known tag set this executor covers and does not consume yet
   * (tag sets appear when a producer first enqueues to one). Safe to call repeatedly.
   * @throws AppError `QUEUE_UNAVAILABLE` when the tag sets cannot be read.
   */
  refresh(): Promise<void>;
  /** The names of the queues consumed. */
  readonly queueNames: readonly string[];
  /** Whether every worker's fetch loop still runs (readiness). */
  readonly running: boolean;
  /** Stops taking jobs: closes every worker (running jobs finish first). */
  close(): Promise<void>;
}

interface Consumer {
  readonly worker: Worker;
  readonly loop: WorkerLoop;
  readonly stopAging: () => void;
}

/**
 * An executor consumes the untagged queue and each tag-set queue whose tags it all has.
 * Each worker takes up to `concurrency` executions. Priority aging runs on every consumed queue (several executors doing it is harmless).
 */
export function createQueueConsumers(deps: QueueConsumerDeps): QueueConsumers {
  const { config, log } = deps;
  const consumers = new Map<string, Consumer>();
  let closed = false;
  const agingIntervalMs = Math.min(Math.max(Math.floor(config.priorityAgingMs / 4), 50), 5_000);

  const start = (tags: readonly string[]) => {
    const queue = deps.queues.forTags(tags);
    const worker = createExecutionWorker(deps.handlers, {
      ...config,
      connection: deps.workerRedis,
      queueName: queue.name,
      queue,
      log,
    });
    const loop = runWorkerLoop(worker, { log, onFailed: deps.onFatal });
    const stopAging = startPriorityAging(
      { queue: queue.queue, redis: deps.producerRedis },
      {
        agingMs: config.priorityAgingMs,
        intervalMs: agingIntervalMs,
        onError: (err) => log.debug({ err, queue: queue.name }, 'priority aging pass failed'),
      },
    );
    consumers.set(tagSetKey(tags), { worker, loop, stopAging });
    log.info({ queue: queue.name, tags }, 'consuming queue');
  };

  return {
    async refresh() {
      if (closed) return;
      if (!consumers.has('')) start([]);
      for (const tags of await deps.queues.tagSets()) {
        if (closed) return;
        if (!consumers.has(tagSetKey(tags)) && canTakeTags(config.tags, tags)) start(tags);
      }
    },
    get queueNames() {
      return [...consumers.keys()].map((key) => deps.queues.forTags(tagsOfKey(key)).name);
    },
    get running() {
      return [...consumers.values()].every((c) => c.loop.running);
    },
    async close() {
      closed = true;
      for (const c of consumers.values()) c.stopAging();
      await Promise.all([...consumers.values()].map((c) => c.worker.close()));
    },
  };
}
