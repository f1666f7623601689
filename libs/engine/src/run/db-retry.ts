import { sleep } from './abortable.ts';

/**
 * Retries `work` with exponential backoff while Postgres is unreachable, so a node's
 * result is not lost to a blip. Gives up after `maxWaitMs` and rethrows (the job then
 * fails and is retried from its checkpoints).
 */
export async function withDbRetry<T>(
  work: () => Promise<T>,
  options: {
    /** The store's classifier (`RunStorePort.isTransient`). */
    isTransient: (err: unknown) => boolean;
    maxWaitMs?: number;
    onRetry?: ((err: unknown, delayMs: number) => void) | undefined;
  },
): Promise<T> {
  const maxWait = options.maxWaitMs ?? 30_000;
  let waited = 0;
  for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await work();
    } catch (err) {
      if (!options.isTransient(err) || waited >= maxWait) throw err;
      options.onRetry?.(err, delay);
      await sleep(delay, new AbortController().signal);
      waited += delay;
    }
  }
}
