import { afterEach, describe, expect, it } from 'vitest';
import { NodeError } from '@linkflow/nodes';
import { BreakerRegistry, type BreakerState } from './breaker-registry.ts';

const changes: [string, BreakerState][] = [];
let registry: BreakerRegistry;
afterEach(() => {
  registry.shutdown();
  changes.length = 0;
});

const failRetryable = () => Promise.reject(new NodeError('CONNECTIVITY', 'refused'));
const failFinal = () =>
  Promise.reject(new NodeError('EXECUTION', 'HTTP 404', { retryable: false, status: 404 }));

describe('BreakerRegistry', () => {
  it('opens after retryable failures and then fails fast with CIRCUIT_OPEN', async () => {
    registry = new BreakerRegistry(
      {
        errorThresholdPercentage: 50,
        volumeThreshold: 3,
        resetTimeoutMs: 60_000,
        rollingCountTimeoutMs: 10_000,
      },
      (t, s) => changes.push([t, s]),
    );
    for (let i = 0; i < 3; i++)
      await expect(registry.fire('api.example:443', failRetryable)).rejects.toMatchObject({
        type: 'CONNECTIVITY',
      });
    let called = false;
    await expect(
      registry.fire('api.example:443', () => ((called = true), Promise.resolve(1))),
    ).rejects.toMatchObject({ type: 'CIRCUIT_OPEN' });
    expect(called).toBe(false);
    expect(registry.states()).toEqual({ 'api.example:443': 'open' });
    expect(changes).toEqual([['api.example:443', 'open']]);
  });

  it('does not count non-retryable failures and keeps targets apart', async () => {
    registry = new BreakerRegistry({
      errorThresholdPercentage: 50,
      volumeThreshold: 2,
      resetTimeoutMs: 60_000,
      rollingCountTimeoutMs: 10_000,
    });
    for (let i = 0; i < 5; i++)
      await expect(registry.fire('a:80', failFinal)).rejects.toMatchObject({ status: 404 });
    await expect(registry.fire('a:80', () => Promise.resolve('fine'))).resolves.toBe('fine');
    await expect(registry.fire('b:80', () => Promise.resolve(2))).resolves.toBe(2);
    expect(registry.states()).toEqual({ 'a:80': 'closed', 'b:80': 'closed' });
  });

  it('half-opens after the reset timeout and closes on success', async () => {
    registry = new BreakerRegistry(
      {
        errorThresholdPercentage: 50,
        volumeThreshold: 1,
        resetTimeoutMs: 50,
        rollingCountTimeoutMs: 10_000,
      },
      (t, s) => changes.push([t, s]),
    );
    await expect(registry.fire('c:80', failRetryable)).rejects.toBeInstanceOf(NodeError);
    await new Promise((r) => setTimeout(r, 80));
    await expect(registry.fire('c:80', () => Promise.resolve('ok'))).resolves.toBe('ok');
    expect(changes.map(([, s]) => s)).toEqual(['open', 'half_open', 'closed']);
  });
});
