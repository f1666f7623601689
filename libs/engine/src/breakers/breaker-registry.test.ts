import { afterEach, describe, expect, it } from 'vitest';
import { NodeError } from '@linkflow/nodes';
import {
  BreakerRegistry,
  breakerOptionsOf,
  callBreakerOptions,
  type BreakerKey,
  type BreakerState,
} from './breaker-registry.ts';

const changes: [string, BreakerState][] = [];
let registry: BreakerRegistry;
afterEach(() => {
  registry.shutdown();
  changes.length = 0;
});

const key = (target: string, tenantId = 'tn-1'): BreakerKey => ({ tenantId, target });

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
        timeoutMs: 0,
      },
      ({ target }, s) => changes.push([target, s]),
    );
    for (let i = 0; i < 3; i++)
      await expect(registry.fire(key('api.example:443'), failRetryable)).rejects.toMatchObject({
        type: 'CONNECTIVITY',
      });
    let called = false;
    await expect(
      registry.fire(key('api.example:443'), () => ((called = true), Promise.resolve(1))),
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
      timeoutMs: 0,
    });
    for (let i = 0; i < 5; i++)
      await expect(registry.fire(key('a:80'), failFinal)).rejects.toMatchObject({ status: 404 });
    await expect(registry.fire(key('a:80'), () => Promise.resolve('fine'))).resolves.toBe('fine');
    await expect(registry.fire(key('b:80'), () => Promise.resolve(2))).resolves.toBe(2);
    expect(registry.states()).toEqual({ 'a:80': 'closed', 'b:80': 'closed' });
  });

  it('half-opens after the reset timeout and closes on success', async () => {
    registry = new BreakerRegistry(
      {
        errorThresholdPercentage: 50,
        volumeThreshold: 1,
        resetTimeoutMs: 50,
        rollingCountTimeoutMs: 10_000,
        timeoutMs: 0,
      },
      ({ target }, s) => changes.push([target, s]),
    );
    await expect(registry.fire(key('c:80'), failRetryable)).rejects.toBeInstanceOf(NodeError);
    await new Promise((r) => setTimeout(r, 80));
    await expect(registry.fire(key('c:80'), () => Promise.resolve('ok'))).resolves.toBe('ok');
    expect(changes.map(([, s]) => s)).toEqual(['open', 'half_open', 'closed']);
  });

  it('fails a call made while the half-open trial is in flight with CIRCUIT_OPEN', async () => {
    registry = new BreakerRegistry({
      errorThresholdPercentage: 50,
      volumeThreshold: 1,
      resetTimeoutMs: 100,
      rollingCountTimeoutMs: 10_000,
      timeoutMs: 0,
    });
    await expect(registry.fire(key('h:80'), failRetryable)).rejects.toBeInstanceOf(NodeError);
    await expect.poll(() => registry.states()['h:80'], { timeout: 5_000 }).toBe('half_open');
    let finish: (value: string) => void = () => {};
    const trial = registry.fire(key('h:80'), () => new Promise<string>((r) => (finish = r)));
    await expect(registry.fire(key('h:80'), () => Promise.resolve('x'))).rejects.toMatchObject({
      type: 'CIRCUIT_OPEN',
      message: 'circuit breaker for h:80 is half-open',
    });
    finish('ok');
    await expect(trial).resolves.toBe('ok');
  });
});

describe('BreakerRegistry per-call thresholds', () => {
  it('applies the first caller thresholds to a new breaker; later callers share it as it is', async () => {
    registry = new BreakerRegistry({
      errorThresholdPercentage: 50,
      volumeThreshold: 10,
      resetTimeoutMs: 60_000,
      rollingCountTimeoutMs: 10_000,
      timeoutMs: 0,
    });
    // ACT: the first call makes t:80 with volume 1; a later caller asks for volume 10
    await expect(
      registry.fire(key('t:80'), failRetryable, { overrides: breakerOptionsOf({ volume: 1 }) }),
    ).rejects.toMatchObject({ type: 'CONNECTIVITY' });
    // ASSERT: one failure opened it (the registry default would need 10)
    await expect(
      registry.fire(key('t:80'), () => Promise.resolve(1), {
        overrides: breakerOptionsOf({ volume: 10 }),
      }),
    ).rejects.toMatchObject({ type: 'CIRCUIT_OPEN' });
    // Another target without a block keeps the registry defaults.
    await expect(registry.fire(key('u:80'), failRetryable)).rejects.toMatchObject({
      type: 'CONNECTIVITY',
    });
    expect(registry.states()['u:80']).toBe('closed');
  });

  it('maps only the fields a block sets', () => {
    expect(breakerOptionsOf(undefined)).toEqual({});
    expect(breakerOptionsOf({ reset_ms: 500 })).toEqual({ resetTimeoutMs: 500 });
    expect(
      breakerOptionsOf({
        ...{ error_percent: 80, volume: 2, reset_ms: 500, window_ms: 60_000, timeout_ms: 0 },
      }),
    ).toEqual({
      errorThresholdPercentage: 80,
      volumeThreshold: 2,
      resetTimeoutMs: 500,
      rollingCountTimeoutMs: 60_000,
      timeoutMs: 0,
    });
  });
});

describe('BreakerRegistry snapshot', () => {
  it('lists each breaker with its state, counted failures and last change', async () => {
    let now = 5_000;
    registry = new BreakerRegistry(
      {
        errorThresholdPercentage: 50,
        volumeThreshold: 3,
        resetTimeoutMs: 60_000,
        rollingCountTimeoutMs: 10_000,
        timeoutMs: 0,
      },
      { now: () => now },
    );
    await registry.fire(key('ok:80'), () => Promise.resolve(1));
    now = 6_000;
    await expect(registry.fire(key('bad:80'), failFinal)).rejects.toBeInstanceOf(NodeError);
    await expect(registry.fire(key('bad:80'), failRetryable)).rejects.toBeInstanceOf(NodeError);
    expect(registry.snapshot()).toEqual([
      { tenantId: 'tn-1', target: 'ok:80', state: 'closed', failures: 0, lastChangeAt: 5_000 },
      { tenantId: 'tn-1', target: 'bad:80', state: 'closed', failures: 1, lastChangeAt: 6_000 },
    ]);
    now = 7_000;
    // The third call (2 of 3 counted failures) opens it; the fourth never runs.
    await expect(registry.fire(key('bad:80'), failRetryable)).rejects.toMatchObject({
      type: 'CONNECTIVITY',
    });
    await expect(registry.fire(key('bad:80'), failRetryable)).rejects.toMatchObject({
      type: 'CIRCUIT_OPEN',
    });
    expect(registry.snapshot()[1]).toEqual({
      tenantId: 'tn-1',
      target: 'bad:80',
      state: 'open',
      failures: 2,
      lastChangeAt: 7_000,
    });
  });
});

describe('BreakerRegistry eviction', () => {
  const quiet = {
    errorThresholdPercentage: 50,
    volumeThreshold: 1,
    resetTimeoutMs: 60_000,
    rollingCountTimeoutMs: 10_000,
    timeoutMs: 0,
  };
  const ok = () => Promise.resolve('ok');

  it('shuts down and forgets a breaker idle past the TTL, reporting the eviction', async () => {
    let now = 1_000;
    const evicted: string[] = [];
    registry = new BreakerRegistry(quiet, {
      now: () => now,
      eviction: { idleTtlMs: 600_000 },
      onEvict: ({ target }) => evicted.push(target),
    });
    await expect(registry.fire(key('old:80'), failRetryable)).rejects.toBeInstanceOf(NodeError);
    expect(registry.states()).toEqual({ 'old:80': 'open' });
    now += 599_999;
    await registry.fire(key('recent:80'), ok);
    expect(Object.keys(registry.states())).toEqual(['old:80', 'recent:80']);
    now += 2;
    await registry.fire(key('recent:80'), ok);
    expect(registry.states()).toEqual({ 'recent:80': 'closed' });
    expect(evicted).toEqual(['old:80']);
    // A target called again after eviction starts with a fresh, closed breaker.
    await expect(registry.fire(key('old:80'), ok)).resolves.toBe('ok');
  });

  it('reports each breaker it makes, again after an eviction', async () => {
    let now = 1_000;
    const created: string[] = [];
    registry = new BreakerRegistry(quiet, {
      now: () => now,
      eviction: { idleTtlMs: 1_000 },
      onCreate: ({ target }) => created.push(target),
    });
    await registry.fire(key('a:80'), ok);
    await registry.fire(key('a:80'), ok);
    await registry.fire(key('b:80'), ok);
    now += 5_000;
    await registry.fire(key('a:80'), ok);
    expect(created).toEqual(['a:80', 'b:80', 'a:80']);
  });

  it('keeps at most maxBreakers, evicting the least recently used first', async () => {
    const evicted: string[] = [];
    registry = new BreakerRegistry(quiet, {
      now: () => 1_000,
      eviction: { maxBreakers: 3 },
      onEvict: ({ target }) => evicted.push(target),
    });
    for (const target of ['a:80', 'b:80', 'c:80', 'a:80', 'd:80', 'e:80'])
      await registry.fire(key(target), ok);
    expect(Object.keys(registry.states()).sort()).toEqual(['a:80', 'd:80', 'e:80']);
    expect(evicted).toEqual(['b:80', 'c:80']);
  });

  it('never evicts a breaker with a call in flight', async () => {
    let now = 1_000;
    registry = new BreakerRegistry(quiet, {
      now: () => now,
      eviction: { idleTtlMs: 1_000, maxBreakers: 1 },
    });
    let finish: (v: string) => void = () => undefined;
    const slow = registry.fire(key('slow:80'), () => new Promise<string>((r) => (finish = r)));
    now += 5_000;
    await registry.fire(key('other:80'), ok);
    expect(Object.keys(registry.states()).sort()).toEqual(['other:80', 'slow:80']);
    finish('done');
    await expect(slow).resolves.toBe('done');
    await registry.fire(key('third:80'), ok);
    expect(Object.keys(registry.states())).toEqual(['third:80']);
  });

  it('stays bounded over 10,000 distinct targets', async () => {
    registry = new BreakerRegistry(quiet, { now: () => 1_000 });
    for (let i = 0; i < 10_000; i += 1) await registry.fire(key(`host-${i}:443`), ok);
    expect(Object.keys(registry.states())).toHaveLength(1_000);
  });

  it('aborts a call past the breaker timeout through the caller and counts it as a failure', async () => {
    registry = new BreakerRegistry({
      errorThresholdPercentage: 50,
      volumeThreshold: 1,
      resetTimeoutMs: 60_000,
      rollingCountTimeoutMs: 10_000,
      timeoutMs: 0,
    });
    // ARRANGE: a call that only ends when its signal aborts (like an http request)
    const controller = new AbortController();
    const hung = () =>
      new Promise<string>((_, reject) =>
        controller.signal.addEventListener('abort', () =>
          reject(controller.signal.reason as Error),
        ),
      );
    // ACT: the node's block sets a 150 ms timeout for this call
    const call = registry.fire(key('slow:80'), hung, {
      overrides: breakerOptionsOf({ timeout_ms: 150 }),
      abort: (reason) => controller.abort(reason),
    });
    // ASSERT: the caller's signal carried the TIMEOUT, and the failure opened the breaker
    await expect(call).rejects.toMatchObject({ type: 'TIMEOUT', retryable: true });
    expect(controller.signal.aborted).toBe(true);
    expect(controller.signal.reason).toMatchObject({ type: 'TIMEOUT' });
    expect(registry.states()['slow:80']).toBe('open');
  });

  it('leaves a call without a breaker timeout alone', async () => {
    registry = new BreakerRegistry();
    let aborted = false;
    const call = registry.fire(key('fast:80'), () => Promise.resolve('done'), {
      overrides: { timeoutMs: 0 },
      abort: () => (aborted = true),
    });
    await expect(call).resolves.toBe('done');
    expect(aborted).toBe(false);
  });

  it('gives a node with its own timeout no breaker timeout unless its block sets one', () => {
    expect(callBreakerOptions({ timeout_ms: 120_000 })).toEqual({ timeoutMs: 0 });
    expect(
      callBreakerOptions({ timeout_ms: 120_000, circuit_breaker: { timeout_ms: 500 } }),
    ).toEqual({ timeoutMs: 500 });
    expect(callBreakerOptions({ circuit_breaker: { volume: 2 } })).toEqual({
      volumeThreshold: 2,
    });
  });
});
