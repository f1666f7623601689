import { describe, expect, it } from 'vitest';
import { costUnits, DEFAULT_RATE_CARD, formatMoney, parseMoney } from './cost-model.ts';

describe('cost model', () => {
  it('charges the base price for an instant node', () => {
    expect(formatMoney(costUnits({ wall_ms: 0 }))).toBe('0.00000100');
  });
  it('adds every usage dimension', () => {
    const base = costUnits({ wall_ms: 10 });
    const more = costUnits({
      wall_ms: 10,
      cpu_ms: 5,
      peak_memory_bytes: 1024 ** 3,
      net_bytes_in: 1e6,
      net_bytes_out: 1e6,
      rows: 100,
      query_ms: 3,
      bytes_stored: 1e6,
    });
    expect(more).toBeGreaterThan(base);
  });
  it('uses the given rate card', () => {
    expect(
      costUnits({ wall_ms: 1000 }, { ...DEFAULT_RATE_CARD, per_node_run: 0, per_wall_ms: 0.001 }),
    ).toBe(100_000_000n);
  });
  it('formats and parses decimal strings', () => {
    expect(formatMoney(1250)).toBe('0.00001250');
    expect(formatMoney(123_456_789_012)).toBe('1234.56789012');
    expect(formatMoney(-5)).toBe('-0.00000005');
    expect(parseMoney('0.00001250')).toBe(1250n);
    expect(parseMoney('-1.5')).toBe(-150_000_000n);
    expect(parseMoney('3')).toBe(300_000_000n);
  });
});
