import { sleep } from './abortable.ts';

/**
 * Retries `work` with exponential backoff while Postgres is unreachable, so a node's
 * result is not lost to a blip. Gives up after `maxWaitMs` and rethrows (the job then
 * fails and is retried from its checkpoints).
 */
export function withDbRetry<T>(work: () => Promise<T>, options: DbRetryOptions): Promise<T> {
  // The usual case (no error) adds no async frame: this runs once per checkpoint.
  let first: Promise<T>;
  try {
    first = work();
  } catch (err) {
    // A store that throws instead of rejecting is retried the same way.
    first = Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  return first.catch((err: unknown) => retryAfter(err, work, options));
}

interface DbRetryOptions {
  /** The store's classifier (`RunStorePort.isTransient`). */
  isTransient: (err: unknown) => boolean;
  maxWaitMs?: number;
  onRetry?: ((err: unknown, delayMs: number) => void) | undefined;
}

async function retryAfter<T>(
  first: unknown,
  work: () => Promise<T>,
  options: DbRetryOptions,
): Promise<T> {
  const maxWait = options.maxWaitMs ?? 30_000;
  let waited = 0;
  let err = first;
  for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
    if (!options.isTransient(err) || waited >= maxWait) throw err;
    options.onRetry?.(err, delay);
    await sleep(delay, new AbortController().signal);
    waited += delay;
    try {
      return await work();
    } catch (next) {
      err = next;
    }
  }
}
