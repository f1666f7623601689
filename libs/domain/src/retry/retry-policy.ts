import type { ErrorType, RunError } from '../errors/error-types.ts';
import { isRetryableType } from '../errors/error-types.ts';
import type { NodeSpec, RetryPolicySpec, WorkflowSettings } from '../workflow/definition-schema.ts';

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
 * The policy spec a node runs under: its own `retry`, else the workflow's `settings.retry`
 * (undefined: no retry).
 */
export function effectiveRetrySpec(
  node: Pick<NodeSpec, 'retry'>,
  settings: Pick<WorkflowSettings, 'retry'> | undefined,
): RetryPolicySpec | undefined {
  return node.retry ?? settings?.retry;
}

/**
 * Backoff before attempt `attempt + 1` after attempt `attempt` (1-based) failed, before
 * jitter: exponential doubles from `initialDelayMs` up to `maxDelayMs`, fixed stays flat.
 */
export function baseRetryDelayMs(policy: RetryPolicy, attempt: number): number {
  const factor = policy.backoff === 'exponential' ? 2 ** Math.max(0, attempt - 1) : 1;
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * factor);
}

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed: the base
 * delay with "equal jitter", which keeps half of it and randomises the other half, so
 * delays still grow. `random` is in [0, 1).
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: number): number {
  const base = baseRetryDelayMs(policy, attempt);
  return Math.round(base / 2 + (base / 2) * Math.min(Math.max(random, 0), 1));
}

/**
 * The base delays (no jitter) the policy would wait before each attempt still allowed after
 * `attemptsMade` attempts; empty once the attempts are spent.
 */
export function remainingRetryDelaysMs(policy: RetryPolicy, attemptsMade: number): number[] {
  const delays: number[] = [];
  for (let attempt = Math.max(1, attemptsMade); attempt < policy.maxAttempts; attempt++) {
    delays.push(baseRetryDelayMs(policy, attempt));
  }
  return delays;
}

/** HTTP statuses worth retrying: 408, 429 and 5xx (other 4xx are the request's fault). */
export function isRetryableHttpStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Whether a stored node-run error is of a kind the retry policy retries: a retryable type
 * and, when it carries an HTTP status, a retryable status. RETRY_EXHAUSTED is judged by
 * its cause (the last attempt's error).
 */
export function isRetryableRunError(error: RunError): boolean {
  if (error.type === 'RETRY_EXHAUSTED') {
    return error.cause !== undefined && isRetryableRunError(error.cause);
  }
  if (!isRetryableType(error.type)) return false;
  return error.status === undefined || isRetryableHttpStatus(error.status);
}

/** Whether a failure of `attempt` may be retried under `policy`. */
export function shouldRetry(
  policy: RetryPolicy,
  attempt: number,
  failure: { type: ErrorType; retryable: boolean },
): boolean {
  return attempt < policy.maxAttempts && failure.retryable && isRetryableType(failure.type);
}
