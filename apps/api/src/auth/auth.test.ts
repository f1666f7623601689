import { describe, expect, it } from 'vitest';
import type { ApiKeyPrincipal } from '@linkflow/store';
import { cachedAuthenticator, type Authenticator } from './auth.ts';

/** A fake key store (our own port) that counts lookups per key. */
function fakeKeys(valid: readonly string[]) {
  const lookups = new Map<string, number>();
  const inner: Authenticator = {
    authenticate(key) {
      lookups.set(key, (lookups.get(key) ?? 0) + 1);
      const principal: ApiKeyPrincipal | undefined = valid.includes(key)
        ? { keyId: `id-${key}`, tenantId: 't1', scopes: ['admin'] }
        : undefined;
      return Promise.resolve(principal);
    },
  };
  return { inner, lookups, count: (key: string) => lookups.get(key) ?? 0 };
}

describe('cachedAuthenticator', () => {
  it('keeps a valid key cached through a flood of 20,000 random tokens', async () => {
    const keys = fakeKeys(['lf_valid']);
    const auth = cachedAuthenticator(keys.inner, { now: () => 1_000 });
    expect(await auth.authenticate('lf_valid')).toMatchObject({ tenantId: 't1' });
    for (let i = 0; i < 20_000; i += 1)
      expect(await auth.authenticate(`lf_random-${i}`)).toBeUndefined();
    expect(await auth.authenticate('lf_valid')).toMatchObject({ tenantId: 't1' });
    expect(keys.count('lf_valid')).toBe(1);
  });

  it('answers a repeated unknown token from the miss cache, bounded by missMax', async () => {
    const keys = fakeKeys([]);
    const auth = cachedAuthenticator(keys.inner, { now: () => 1_000, missMax: 2 });
    await auth.authenticate('a');
    await auth.authenticate('a');
    expect(keys.count('a')).toBe(1);
    await auth.authenticate('b');
    await auth.authenticate('c'); // evicts 'a', the least recently used miss
    await auth.authenticate('a');
    expect(keys.count('a')).toBe(2);
  });

  it('evicts the least recently used valid key at max, not every key', async () => {
    const keys = fakeKeys(['k1', 'k2', 'k3']);
    const auth = cachedAuthenticator(keys.inner, { now: () => 1_000, max: 2 });
    await auth.authenticate('k1');
    await auth.authenticate('k2');
    await auth.authenticate('k1'); // k2 is now the least recently used
    await auth.authenticate('k3');
    await auth.authenticate('k1');
    await auth.authenticate('k2');
    expect([keys.count('k1'), keys.count('k2'), keys.count('k3')]).toEqual([1, 2, 1]);
  });

  it('asks the store again once ttlMs has passed, so a revocation bites', async () => {
    // lru-cache treats an entry stamped at time 0 as immortal: start the clock later.
    let now = 1_000;
    const keys = fakeKeys(['k1']);
    const auth = cachedAuthenticator(keys.inner, { now: () => now, ttlMs: 10_000 });
    await auth.authenticate('k1');
    await auth.authenticate('nope');
    now = 10_999;
    await auth.authenticate('k1');
    await auth.authenticate('nope');
    expect([keys.count('k1'), keys.count('nope')]).toEqual([1, 1]);
    now = 11_001;
    await auth.authenticate('k1');
    await auth.authenticate('nope');
    expect([keys.count('k1'), keys.count('nope')]).toEqual([2, 2]);
  });
});
