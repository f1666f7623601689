import type { EvaluateOptions } from '@linkflow/domain';

/** The default ceiling on one expression evaluation (`LINKFLOW_EXPRESSION_TIMEOUT_MS`). */
export const DEFAULT_EXPRESSION_TIMEOUT_MS = 1000;

/** A turn of the event loop: timers, I/O, lock renewal and cancel messages run meanwhile. */
const turnOfTheLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The limits for the expressions of one node attempt: its deadline (`timeoutMs` from
 * now; none when 0 or absent), the per-evaluation ceiling `maxMs`, its `signal`, a
 * yield to the event loop every 5 ms, and the value cap (the node output cap).
 */
export function evaluationLimits(options: {
  readonly signal: AbortSignal;
  readonly timeoutMs?: number | undefined;
  readonly maxMs?: number | undefined;
  readonly maxValueBytes?: number | undefined;
}): EvaluateOptions {
  const now = () => performance.now();
  const timeoutMs = options.timeoutMs ?? 0;
  return {
    now,
    ...(timeoutMs > 0 ? { deadline: now() + timeoutMs } : {}),
    maxMs: options.maxMs ?? DEFAULT_EXPRESSION_TIMEOUT_MS,
    signal: options.signal,
    yieldToLoop: turnOfTheLoop,
    yieldEveryMs: 5,
    ...(options.maxValueBytes === undefined ? {} : { maxValueBytes: options.maxValueBytes }),
  };
}
