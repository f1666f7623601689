import { describe, expect, it } from 'vitest';
import { NO_RETRY, resolveRetryPolicy, retryDelayMs, shouldRetry } from './retry-policy.ts';

describe('retry policy', () => {
  const policy = resolveRetryPolicy({ max_attempts: 5, initial_delay_ms: 100, max_delay_ms: 1000 });

  it('defaults to no retry', () => {
    expect(resolveRetryPolicy(undefined)).toBe(NO_RETRY);
  });
  it('fills defaults and keeps the cap above the initial delay', () => {
    expect(resolveRetryPolicy({ max_attempts: 2 })).toEqual({
      maxAttempts: 2,
      backoff: 'exponential',
      initialDelayMs: 200,
      maxDelayMs: 30000,
    });
    expect(
      resolveRetryPolicy({ max_attempts: 2, initial_delay_ms: 500, max_delay_ms: 10 }).maxDelayMs,
    ).toBe(500);
  });
  it('doubles exponentially up to the cap, with half jitter', () => {
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(policy, a, 0))).toEqual([
      50, 100, 200, 400, 500,
    ]);
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(policy, a, 1))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });
  it('keeps fixed backoff flat and clamps random', () => {
    const fixed = resolveRetryPolicy({ max_attempts: 3, backoff: 'fixed', initial_delay_ms: 100 });
    expect(retryDelayMs(fixed, 3, 2)).toBe(100);
    expect(retryDelayMs(fixed, 3, -1)).toBe(50);
  });
  it('retries only retryable types while attempts remain', () => {
    expect(shouldRetry(policy, 1, { type: 'CONNECTIVITY', retryable: true })).toBe(true);
    expect(shouldRetry(policy, 5, { type: 'CONNECTIVITY', retryable: true })).toBe(false);
    expect(shouldRetry(policy, 1, { type: 'EXECUTION', retryable: false })).toBe(false);
    expect(shouldRetry(policy, 1, { type: 'VALIDATION', retryable: true })).toBe(false);
  });
});
