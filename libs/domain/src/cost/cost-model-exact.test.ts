import { describe, expect, it } from 'vitest';
import { costUnits, DEFAULT_RATE_CARD, formatMoney } from './cost-model.ts';

// The cost model claims exact money in 1e-8 USD units, but it sums float USD and rounds once:
// a half unit can round down, and past 2^53 units (about 90 million USD, reachable with a
// rate card at its 1000 USD maximum) the digits printed are not the product's.

describe('cost model exactness (KNOWN BUG attack11: drop .fails with the fix)', () => {
  it.fails('rounds a half unit as exact decimal arithmetic does', () => {
    // 100 units per run + 2500 bytes × 0.009 units = 122.5 units → 123 (half up)
    expect(costUnits({ wall_ms: 0, net_bytes_in: 2500 }, DEFAULT_RATE_CARD)).toBe(123);
  });

  it.fails('prints the exact cost of a run above 2^53 units', () => {
    // 10 MiB stored at 1000 USD per byte, plus 0.000001 per run: 10485760000.00000100
    const card = { ...DEFAULT_RATE_CARD, per_byte_stored: 1000, per_wall_ms: 0 };
    const units = costUnits({ wall_ms: 0, bytes_stored: 10 * 1024 * 1024 }, card);
    expect(formatMoney(units)).toBe('10485760000.00000100');
  });
});
