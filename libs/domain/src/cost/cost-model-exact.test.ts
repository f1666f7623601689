import { describe, expect, it } from 'vitest';
import {
  costUnits,
  DEFAULT_RATE_CARD,
  formatMoney,
  MAX_COST_UNITS,
  parseMoney,
} from './cost-model.ts';

// Money is exact in 1e-8 USD units: a half unit rounds up as decimal arithmetic does, and
// past 2^53 units (about 90 million USD, reachable with a rate card at its 1000 USD maximum)
// the digits printed are still the product's.

describe('cost model exactness', () => {
  it('rounds a half unit as exact decimal arithmetic does', () => {
    // 100 units per run + 2500 bytes × 0.009 units = 122.5 units → 123 (half up)
    expect(costUnits({ wall_ms: 0, net_bytes_in: 2500 }, DEFAULT_RATE_CARD)).toBe(123n);
  });

  it('prints the exact cost of a run above 2^53 units', () => {
    // 10 MiB stored at 1000 USD per byte, plus 0.000001 per run: 10485760000.00000100
    const card = { ...DEFAULT_RATE_CARD, per_byte_stored: 1000, per_wall_ms: 0 };
    const units = costUnits({ wall_ms: 0, bytes_stored: 10 * 1024 * 1024 }, card);
    expect(formatMoney(units)).toBe('10485760000.00000100');
  });
});

describe('costUnits exact decimal arithmetic', () => {
  const zero = {
    ...DEFAULT_RATE_CARD,
    per_node_run: 0,
    per_wall_ms: 0,
    per_cpu_ms: 0,
    per_gb_ms_memory: 0,
    per_net_byte: 0,
    per_row: 0,
    per_query_ms: 0,
    per_byte_stored: 0,
  };

  it('rounds once, half up, after summing exact terms', () => {
    // 0.1 + 0.2 USD is 0.3 exactly (floats say 0.30000000000000004)
    const card = { ...zero, per_row: 0.1, per_query_ms: 0.2 };
    expect(formatMoney(costUnits({ wall_ms: 0, rows: 1, query_ms: 1 }, card))).toBe('0.30000000');
    // 0.000000004 + 0.000000001 = half a unit: each term alone rounds down, the sum rounds up
    const halves = { ...zero, per_row: 0.000000004, per_query_ms: 0.000000001 };
    expect(costUnits({ wall_ms: 0, rows: 1, query_ms: 1 }, halves)).toBe(1n);
    expect(costUnits({ wall_ms: 0, rows: 1 }, halves)).toBe(0n);
    // 1.005 USD × 1 is 1.005 exactly: 100500000 units, no binary 1.00499999…
    expect(costUnits({ wall_ms: 0, rows: 1 }, { ...zero, per_row: 1.005 })).toBe(100_500_000n);
    // just under half a unit rounds down: 0.0000000049999 USD
    expect(costUnits({ wall_ms: 0, rows: 1 }, { ...zero, per_row: 0.0000000049999 })).toBe(0n);
  });

  it('charges memory as bytes × ms / 2^30 exactly', () => {
    const card = { ...zero, per_gb_ms_memory: 1 };
    // half a GiB for 3 ms (cpu_ms wins over wall_ms): 1.5 GB-ms at 1 USD
    const usage = { wall_ms: 99, cpu_ms: 3, peak_memory_bytes: 2 ** 29 };
    expect(formatMoney(costUnits(usage, card))).toBe('1.50000000');
    // one byte for one ms at 1 USD per GB-ms: 9.3e-10 USD = 0.093 units → 0
    expect(costUnits({ wall_ms: 1, peak_memory_bytes: 1 }, card)).toBe(0n);
    // 1 unit per GB-ms: half a GiB for 1 ms is exactly half a unit (up), one byte less is not
    const unit = { ...zero, per_gb_ms_memory: 0.00000001 };
    expect(costUnits({ wall_ms: 1, peak_memory_bytes: 2 ** 29 }, unit)).toBe(1n);
    expect(costUnits({ wall_ms: 1, peak_memory_bytes: 2 ** 29 - 1 }, unit)).toBe(0n);
  });

  it('multiplies fractional usage exactly and counts bad usage as 0', () => {
    const card = { ...zero, per_query_ms: 0.00000003 };
    expect(costUnits({ wall_ms: 0, query_ms: 1.5 }, card)).toBe(5n); // 4.5 units, half up
    expect(costUnits({ wall_ms: 0, query_ms: Number.NaN, rows: -4 }, card)).toBe(0n);
  });

  it('stays exact far past 2^53 units', () => {
    const card = { ...zero, per_byte_stored: 999.99999999 };
    // 123,456,789 bytes × 999.99999999 USD = 123,456,788,998.76543211 USD
    const units = costUnits({ wall_ms: 0, bytes_stored: 123_456_789 }, card);
    expect(units).toBe(12_345_678_899_876_543_211n);
    expect(formatMoney(units)).toBe('123456788998.76543211');
    expect(parseMoney('123456788998.76543211')).toBe(units);
  });

  it('clamps a run at MAX_COST_UNITS, the most numeric(20,8) holds', () => {
    const card = { ...zero, per_byte_stored: 1000 };
    const units = costUnits({ wall_ms: 0, bytes_stored: 2 ** 40 }, card);
    expect(units).toBe(MAX_COST_UNITS);
    expect(formatMoney(units)).toBe('999999999999.99999999');
    expect(parseMoney(formatMoney(units))).toBe(MAX_COST_UNITS);
  });
});
