import { describe, expect, it } from 'vitest';
import { decimalOf, multiply, roundHalfUp, sumFractions } from './exact-decimal.ts';

describe('decimalOf', () => {
  it('reads a number as the decimal of its shortest text', () => {
    expect(decimalOf(0.1)).toEqual({ digits: 1n, scale: 1 });
    expect(decimalOf(0.00000000009)).toEqual({ digits: 9n, scale: 11 });
    expect(decimalOf(1.5e-7)).toEqual({ digits: 15n, scale: 8 });
    expect(decimalOf(1000)).toEqual({ digits: 1000n, scale: 0 });
    expect(decimalOf(2.5e21)).toEqual({ digits: 2_500_000_000_000_000_000_000n, scale: 0 });
  });

  it('reads zero, negatives and non-finite numbers as 0', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(decimalOf(bad).digits, String(bad)).toBe(0n);
    }
  });
});

describe('sumFractions and roundHalfUp', () => {
  it('adds decimals over different divisors exactly and rounds half up once', () => {
    const sum = sumFractions([
      { value: multiply(decimalOf(0.25), decimalOf(2)), divisor: 1n },
      { value: decimalOf(0.5), divisor: 4n },
    ]);
    // 0.5 + 0.125 = 0.625
    expect(roundHalfUp(sum, 1000n)).toBe(625n);
    expect(roundHalfUp(sum, 100n)).toBe(63n);
    expect(roundHalfUp(sum, 1n)).toBe(1n);
    expect(roundHalfUp(sumFractions([]), 100n)).toBe(0n);
  });
});
