import { afterEach, describe, expect, it } from 'vitest';
import { NodeError } from '@linkflow/nodes';
import {
  BreakerRegistry,
  breakerOptionsOf,
  type BreakerKey,
  type BreakerOptions,
  type BreakerState,
} from './breaker-registry.ts';

let registry: BreakerRegistry;
afterEach(() => registry.shutdown());

const key = (tenantId: string, target = 'api.example:443'): BreakerKey => ({ tenantId, target });
const ok = () => Promise.resolve('ok');
const failRetryable = () => Promise.reject(new NodeError('CONNECTIVITY', 'refused'));
const defaults: BreakerOptions = {
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  resetTimeoutMs: 60_000,
  rollingCountTimeoutMs: 10_000,
  timeoutMs: 0,
};
const hostile = {
  overrides: breakerOptionsOf({ volume: 1, error_percent: 1, reset_ms: 86_400_000 }),
};

describe('BreakerRegistry per tenant', () => {
  it("opens only the tenant's own breaker: its block and failures never reach another tenant", async () => {
    registry = new BreakerRegistry(defaults, { now: () => 1_000 });
    // ACT: the hostile tenant makes the target's first breaker with lax thresholds and fails once
    await expect(registry.fire(key('evil'), failRetryable, hostile)).rejects.toMatchObject({
      type: 'CONNECTIVITY',
    });
    // ASSERT: its own next call fails fast; the victim's calls run, under the defaults
    await expect(registry.fire(key('evil'), ok)).rejects.toMatchObject({ type: 'CIRCUIT_OPEN' });
    await expect(registry.fire(key('victim'), ok)).resolves.toBe('ok');
    await expect(registry.fire(key('victim'), failRetryable)).rejects.toMatchObject({
      type: 'CONNECTIVITY',
    });
    await expect(registry.fire(key('victim'), ok)).resolves.toBe('ok');
    expect(registry.snapshot()).toEqual([
      {
        tenantId: 'evil',
        target: 'api.example:443',
        state: 'open',
        failures: 1,
        lastChangeAt: 1_000,
      },
      {
        tenantId: 'victim',
        target: 'api.example:443',
        state: 'closed',
        failures: 1,
        lastChangeAt: 1_000,
      },
    ]);
  });

  it('keeps a breaker per identity behind one shown target (two redacted secret hosts)', async () => {
    registry = new BreakerRegistry(defaults, { now: () => 1_000 });
    const secret = (identity: string): BreakerKey => ({
      ...key('t'),
      target: '[redacted]:443',
      identity,
    });
    await expect(
      registry.fire(secret('a.example:443'), failRetryable, hostile),
    ).rejects.toMatchObject({
      type: 'CONNECTIVITY',
    });
    await expect(registry.fire(secret('a.example:443'), ok)).rejects.toMatchObject({
      type: 'CIRCUIT_OPEN',
      message: 'circuit breaker for [redacted]:443 is open',
    });
    await expect(registry.fire(secret('b.example:443'), ok)).resolves.toBe('ok');
    expect(JSON.stringify(registry.snapshot())).not.toContain('example');
    expect(registry.targetState('[redacted]:443')).toBe('open');
  });

  it("shows a target's worst state over its tenants' breakers, undefined once none is left", async () => {
    let now = 1_000;
    const seen: [string, BreakerState | undefined][] = [];
    const show = ({ target }: BreakerKey) => seen.push([target, registry.targetState(target)]);
    registry = new BreakerRegistry(defaults, {
      now: () => now,
      eviction: { idleTtlMs: 1_000 },
      onCreate: show,
      onStateChange: show,
      onEvict: show,
    });
    await registry.fire(key('a'), ok);
    await expect(registry.fire(key('b'), failRetryable, hostile)).rejects.toBeInstanceOf(NodeError);
    await registry.fire(key('c', 'main'), ok);
    expect(registry.states()).toEqual({ 'api.example:443': 'open', main: 'closed' });
    expect(registry.targetState('nowhere:80')).toBeUndefined();
    now += 5_000;
    await registry.fire(key('a', 'other:80'), ok);
    // Hooks run once the registry holds the change: a new breaker counts as closed at once.
    expect(seen).toEqual([
      ['api.example:443', 'closed'],
      ['api.example:443', 'closed'],
      ['api.example:443', 'open'],
      ['main', 'closed'],
      ['api.example:443', 'open'],
      ['api.example:443', undefined],
      ['main', undefined],
      ['other:80', 'closed'],
    ]);
  });

  it('counts maxBreakers per tenant and target', async () => {
    const evicted: string[] = [];
    registry = new BreakerRegistry(defaults, {
      now: () => 1_000,
      eviction: { maxBreakers: 2 },
      onEvict: ({ tenantId, target }) => evicted.push(`${tenantId} ${target}`),
    });
    for (const tenant of ['a', 'b', 'c']) await registry.fire(key(tenant), ok);
    expect(registry.snapshot().map((b) => b.tenantId)).toEqual(['b', 'c']);
    expect(evicted).toEqual(['a api.example:443']);
  });
});
