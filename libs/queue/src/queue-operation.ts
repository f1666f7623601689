import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppError } from '@linkflow/domain';
import { queueErrors } from './queue-errors.ts';

/**
 * Default deadline of one producer-side queue operation. BullMQ waits for the connection's
 * first `ready` without any limit (a Queue built while Redis is down would hang every call
 * until Redis comes back), so producer operations carry their own deadline.
 */
export const DEFAULT_OPERATION_TIMEOUT_MS = 5_000;

/**
 * Where a fleet store lives (the worker registry, the breaker and metrics boards): a Redis
 * connection, the base queue name that executors of one queue set share, and the deadline
 * of each of its operations (default {@link DEFAULT_OPERATION_TIMEOUT_MS}).
 */
export interface FleetStoreOptions {
  readonly connection: Redis;
  readonly name: string;
  readonly operationTimeoutMs?: number;
}

/** {@link runQueueOperation} bound to a fleet store's queue name and deadline. */
export function guardedOperations(options: Pick<FleetStoreOptions, 'name' | 'operationTimeoutMs'>) {
  const scope = {
    queue: options.name,
    timeoutMs: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
  };
  return <T>(operation: string, run: () => Promise<T>): Promise<T> =>
    runQueueOperation({ operation, ...scope }, run);
}

/** Where an operation runs, for its deadline and its error. */
export interface OperationScope {
  readonly operation: string;
  readonly queue: string;
  readonly timeoutMs: number;
}

/**
 * Runs a Redis-backed operation with a deadline, turning failures and timeouts into
 * `QUEUE_UNAVAILABLE` (retryable). A timed-out operation may still complete later: callers
 * rely on job id = execution id to make a retry harmless.
 * @throws AppError `QUEUE_UNAVAILABLE`
 */
export async function runQueueOperation<T>(
  scope: OperationScope,
  run: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(queueErrors.queueTimedOut(scope.operation, scope.queue, scope.timeoutMs)),
      scope.timeoutMs,
    );
  });
  const work = Promise.resolve().then(run);
  // The losing promise must not surface as an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, deadline]);
  } catch (cause) {
    if (cause instanceof AppError && cause.code === 'QUEUE_UNAVAILABLE') throw cause;
    throw queueErrors.queueUnavailable(scope.operation, scope.queue, cause);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Routes a BullMQ queue's `error` events (mostly the shared connection's errors, already
 * reported by `createRedis`'s `onError`) to `onError`. Without a listener BullMQ would print
 * each one with `console.error`.
 */
export function forwardQueueErrors(
  queue: Pick<Queue, 'on'>,
  onError: ((err: Error) => void) | undefined,
): void {
  queue.on('error', (err) => onError?.(err));
}
