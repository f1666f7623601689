import { describe, expect, it } from 'vitest';
import {
  baseRetryDelayMs,
  effectiveRetrySpec,
  isRetryableRunError,
  NO_RETRY,
  remainingRetryDelaysMs,
  resolveRetryPolicy,
  retryDelayMs,
  shouldRetry,
} from './retry-policy.ts';

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

describe('workflow default, dry-run delays and stored errors', () => {
  it('uses the node policy, else settings.retry, else none', () => {
    const own = { max_attempts: 2 };
    const dflt = { max_attempts: 4, backoff: 'fixed' as const };
    expect(effectiveRetrySpec({ retry: own }, { retry: dflt })).toBe(own);
    expect(effectiveRetrySpec({}, { retry: dflt })).toBe(dflt);
    expect(effectiveRetrySpec({}, undefined)).toBeUndefined();
  });
  it('lists the base delays of the attempts left, capped, without jitter', () => {
    const p = resolveRetryPolicy({ max_attempts: 5, initial_delay_ms: 100, max_delay_ms: 300 });
    expect(remainingRetryDelaysMs(p, 1)).toEqual([100, 200, 300, 300]);
    expect(remainingRetryDelaysMs(p, 3)).toEqual([300, 300]);
    expect(remainingRetryDelaysMs(p, 5)).toEqual([]);
    expect(remainingRetryDelaysMs(NO_RETRY, 1)).toEqual([]);
    const fixed = resolveRetryPolicy({ max_attempts: 3, backoff: 'fixed', initial_delay_ms: 70 });
    expect(remainingRetryDelaysMs(fixed, 0)).toEqual([70, 70]);
    expect(baseRetryDelayMs(p, 2)).toBe(retryDelayMs(p, 2, 1));
  });
  it('judges stored errors by type, HTTP status and the cause of RETRY_EXHAUSTED', () => {
    expect(isRetryableRunError({ type: 'CONNECTIVITY', message: 'x' })).toBe(true);
    expect(isRetryableRunError({ type: 'EXECUTION', message: 'x', status: 503 })).toBe(true);
    expect(isRetryableRunError({ type: 'EXECUTION', message: 'x', status: 429 })).toBe(true);
    expect(isRetryableRunError({ type: 'EXECUTION', message: 'x', status: 404 })).toBe(false);
    expect(isRetryableRunError({ type: 'VALIDATION', message: 'x' })).toBe(false);
    const cause = { type: 'TIMEOUT' as const, message: 'slow' };
    expect(isRetryableRunError({ type: 'RETRY_EXHAUSTED', message: 'x', cause })).toBe(true);
    expect(isRetryableRunError({ type: 'RETRY_EXHAUSTED', message: 'x' })).toBe(false);
  });
});
