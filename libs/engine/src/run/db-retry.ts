import { sleep } from './abortable.ts';

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '40P01',
  '40001',
  '08000',
  '08001',
  '08003',
  '08006',
  '53300',
]);

/** True for errors that mean "Postgres is briefly unreachable", not "the statement is wrong". */
export function isTransientDbError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = 'code' in err ? String(err.code) : '';
  const message = 'message' in err ? String(err.message) : '';
  return (
    TRANSIENT_CODES.has(code) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(
      message,
    )
  );
}

/**
 * Retries `work` with exponential backoff while Postgres is unreachable, so a node's
 * result is not lost to a blip. Gives up after `maxWaitMs` and rethrows (the job then
 * fails and is retried from its checkpoints).
 */
export async function withDbRetry<T>(
  work: () => Promise<T>,
  options: {
    maxWaitMs?: number;
    onRetry?: ((err: unknown, delayMs: number) => void) | undefined;
  } = {},
): Promise<T> {
  const maxWait = options.maxWaitMs ?? 30_000;
  let waited = 0;
  for (let delay = 50; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await work();
    } catch (err) {
      if (!isTransientDbError(err) || waited >= maxWait) throw err;
      options.onRetry?.(err, delay);
      await sleep(delay, new AbortController().signal);
      waited += delay;
    }
  }
}
