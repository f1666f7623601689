import type { ErrorType } from '../errors/error-types.ts';
import { isRetryableType } from '../errors/error-types.ts';
import type { RetryPolicySpec } from '../workflow/definition-schema.ts';

/** A node's retry policy with defaults applied. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly backoff: 'exponential' | 'fixed';
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const NO_RETRY: RetryPolicy = {
  maxAttempts: 1,
  backoff: 'exponential',
  initialDelayMs: 0,
  maxDelayMs: 0,
};

export function resolveRetryPolicy(spec: RetryPolicySpec | undefined): RetryPolicy {
  if (!spec) return NO_RETRY;
  const initialDelayMs = spec.initial_delay_ms ?? 200;
  return {
    maxAttempts: spec.max_attempts,
    backoff: spec.backoff ?? 'exponential',
    initialDelayMs,
    maxDelayMs: Math.max(spec.max_delay_ms ?? 30_000, initialDelayMs),
  };
}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed. Exponential
 * doubles from `initialDelayMs` up to `maxDelayMs`; "equal jitter" keeps half the delay
 * and randomises the other half, so delays still grow. `random` is in [0, 1).
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: number): number {
  const factor = policy.backoff === 'exponential' ? 2 ** Math.max(0, attempt - 1) : 1;
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * factor);
  return Math.round(base / 2 + (base / 2) * Math.min(Math.max(random, 0), 1));
}

/** Whether a failure of `attempt` may be retried under `policy`. */
export function shouldRetry(
  policy: RetryPolicy,
  attempt: number,
  failure: { type: ErrorType; retryable: boolean },
): boolean {
  return attempt < policy.maxAttempts && failure.retryable && isRetryableType(failure.type);
}
