import { abortError, NodeError, sharedAbortController } from '@linkflow/nodes';

/** Resolves after `ms`, or rejects with the signal's abort error as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Races `work` against the signal, so a node that ignores its AbortSignal still stops
 * holding up the execution (its promise is left to settle on its own).
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new NodeError('UNKNOWN', String(err)));
      },
    );
  });
}

/**
 * An AbortController whose signal also aborts when `parent` does, with the parent's
 * reason. Call `dispose` when done so long executions do not pile up listeners.
 * Its signal is shared by everything running under it (see `sharedAbortController`).
 */
export function childController(parent: AbortSignal): {
  controller: AbortController;
  dispose: () => void;
} {
  const controller = sharedAbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, dispose: () => undefined };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { controller, dispose: () => parent.removeEventListener('abort', onAbort) };
}

/**
 * Whether `work` settles (either way) within `ms`. Shutdown steps that talk to a dependency
 * which may be down (Redis unsubscribe, queue close) are bounded with it, so a process that
 * was told to stop does stop.
 */
export function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = work.then(
    () => true,
    () => true,
  );
  return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
}
