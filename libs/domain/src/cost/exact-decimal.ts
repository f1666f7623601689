/**
 * Exact decimals for the cost model: `digits / 10^scale` with a bigint numerator, so prices
 * and usage multiply and add with no binary rounding.
 */
export interface ExactDecimal {
  readonly digits: bigint;
  /** Decimal places: the value is `digits / 10^scale` (scale >= 0). */
  readonly scale: number;
}

const ZERO: ExactDecimal = { digits: 0n, scale: 0 };

/** `<int>[.<frac>][e<exp>]`, as `String(number)` prints a finite non-negative number. */
const NUMBER_TEXT = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/;

/**
 * The exact decimal a JSON number stands for: the decimal of its shortest round-trip text
 * (`String(0.1)` is `"0.1"`, so 0.1 means one tenth, not the binary double nearest to it).
 * That is the value a person wrote in the rate card file. Not a finite number >= 0 (a card
 * built in code, a node's usage gone wrong): 0, so the term adds nothing rather than
 * poisoning the sum.
 */
export function decimalOf(value: number): ExactDecimal {
  if (!Number.isFinite(value) || value <= 0) return ZERO;
  // Whole numbers (most usage: ms, bytes, rows) need no text round trip.
  if (Number.isSafeInteger(value)) return { digits: BigInt(value), scale: 0 };
  const match = NUMBER_TEXT.exec(String(value));
  if (match === null) return ZERO;
  const [, int = '0', frac = '', exp = '0'] = match;
  const digits = BigInt(int + frac);
  const scale = frac.length - Number(exp);
  return scale >= 0 ? { digits, scale } : { digits: digits * 10n ** BigInt(-scale), scale: 0 };
}

/** `a × b`, exact. */
export function multiply(a: ExactDecimal, b: ExactDecimal): ExactDecimal {
  return { digits: a.digits * b.digits, scale: a.scale + b.scale };
}

/** A fraction `numerator / denominator` (both >= 0, denominator > 0), exact. */
export interface Fraction {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/**
 * The sum of `terms`, each `decimal / divisor` (divisor > 0), as one exact fraction over
 * `10^maxScale × the product of the distinct divisors` (a common multiple; the cost model's
 * divisors are 1 and 2^30).
 */
export function sumFractions(
  terms: readonly { readonly value: ExactDecimal; readonly divisor: bigint }[],
): Fraction {
  const scale = terms.reduce((max, t) => Math.max(max, t.value.scale), 0);
  const divisors = [...new Set(terms.map((t) => t.divisor))];
  const common = divisors.reduce((product, d) => product * d, 1n);
  let numerator = 0n;
  for (const { value, divisor } of terms) {
    numerator += value.digits * 10n ** BigInt(scale - value.scale) * (common / divisor);
  }
  return { numerator, denominator: 10n ** BigInt(scale) * common };
}

/** `fraction × multiplier`, rounded half up to an integer (the fraction is >= 0). */
export function roundHalfUp(fraction: Fraction, multiplier: bigint): bigint {
  const { numerator, denominator } = fraction;
  return (2n * numerator * multiplier + denominator) / (2n * denominator);
}
