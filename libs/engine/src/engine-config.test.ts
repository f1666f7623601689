import { describe, expect, it } from 'vitest';
import { fleetLockStaleAfterMs } from './engine-config.ts';

describe('fleetLockStaleAfterMs', () => {
  it('is three passes, and at least 30 s', () => {
    expect(fleetLockStaleAfterMs(20_000)).toBe(60_000);
    expect(fleetLockStaleAfterMs(1_000)).toBe(30_000);
  });
});
