import {
  decimalOf,
  multiply,
  roundHalfUp,
  sumFractions,
  type ExactDecimal,
} from './exact-decimal.ts';

/**
 * The cost model: usage × rate card. Money is computed exactly (bigint decimals, see
 * {@link costUnits}) and kept in integer units of 1e-8 USD (the 8 decimals the API shows) as
 * a bigint, so sums never drift at any size, and printed as a decimal string.
 */
export interface Usage {
  readonly wall_ms: number;
  readonly cpu_ms?: number;
  readonly peak_memory_bytes?: number;
  readonly net_bytes_in?: number;
  readonly net_bytes_out?: number;
  readonly rows?: number;
  readonly query_ms?: number;
  readonly bytes_stored?: number;
}

/** Prices in USD per unit. Configurable; these defaults are illustrative cloud-like rates. */
export interface RateCard {
  readonly currency: string;
  readonly per_node_run: number;
  readonly per_wall_ms: number;
  readonly per_cpu_ms: number;
  readonly per_gb_ms_memory: number;
  readonly per_net_byte: number;
  readonly per_row: number;
  readonly per_query_ms: number;
  readonly per_byte_stored: number;
}

export const DEFAULT_RATE_CARD: RateCard = {
  currency: 'USD',
  per_node_run: 0.000001,
  per_wall_ms: 0.00000001,
  per_cpu_ms: 0.0000001,
  per_gb_ms_memory: 0.0000000167,
  per_net_byte: 0.00000000009,
  per_row: 0.00000001,
  per_query_ms: 0.00000002,
  per_byte_stored: 0.0000000000023,
};

/** 1e-8 USD units per USD: money has 8 decimals (the API's and Postgres' `numeric(20,8)`). */
const UNITS_PER_USD = 100_000_000n;

/**
 * The most a money value may be, in 1e-8 USD units: what `numeric(20,8)` holds
 * (999,999,999,999.99999999 USD). A node run's cost is clamped to it, and the store clamps a
 * node's accumulated charge and an execution's total to it too, so a checkpoint or a finish
 * can never fail on numeric overflow (a failing write would rerun the node into the
 * dead-letter queue). Reaching it takes prices near the rate card's 1000 USD maximum.
 */
export const MAX_COST_UNITS = 10n ** 20n - 1n;

/** Bytes per GB of memory in `per_gb_ms_memory` (binary: 2^30). */
const BYTES_PER_GB = 1n << 30n;

/**
 * Cost of one node run in 1e-8 USD units, exact: each price is the decimal its rate card
 * number is written as (see {@link decimalOf}), multiplied by its usage (memory as the
 * rational bytes × ms / 2^30), summed exactly, and rounded once, half up, to a unit; then
 * clamped to {@link MAX_COST_UNITS}. A usage or price that is not a finite number >= 0
 * counts as 0.
 */
export function costUnits(usage: Usage, card: RateCard = DEFAULT_RATE_CARD): bigint {
  const price = pricesOf(card);
  const terms: { value: ExactDecimal; divisor: bigint }[] = [];
  // A zero price or quantity adds nothing: leaving its term out keeps the sum exact and cheap.
  const add = (p: ExactDecimal, q: ExactDecimal, divisor = 1n) => {
    if (p.digits !== 0n && q.digits !== 0n) terms.push({ value: multiply(p, q), divisor });
  };
  const qty = (q: number | undefined) => decimalOf(q ?? 0);
  if (price.per_node_run.digits !== 0n) terms.push({ value: price.per_node_run, divisor: 1n });
  add(price.per_wall_ms, qty(usage.wall_ms));
  add(price.per_cpu_ms, qty(usage.cpu_ms));
  const memoryMs = multiply(qty(usage.peak_memory_bytes), qty(usage.cpu_ms ?? usage.wall_ms));
  add(price.per_gb_ms_memory, memoryMs, BYTES_PER_GB);
  add(price.per_net_byte, qty(usage.net_bytes_in));
  add(price.per_net_byte, qty(usage.net_bytes_out));
  add(price.per_row, qty(usage.rows));
  add(price.per_query_ms, qty(usage.query_ms));
  add(price.per_byte_stored, qty(usage.bytes_stored));
  if (terms.length === 0) return 0n;
  const units = roundHalfUp(sumFractions(terms), UNITS_PER_USD);
  return units > MAX_COST_UNITS ? MAX_COST_UNITS : units;
}

type CardPrices = { readonly [K in Exclude<keyof RateCard, 'currency'>]: ExactDecimal };

/** A rate card's prices as exact decimals, computed once per card (cards are immutable). */
const PRICES = new WeakMap<RateCard, CardPrices>();

function pricesOf(card: RateCard): CardPrices {
  const known = PRICES.get(card);
  if (known !== undefined) return known;
  const prices: CardPrices = {
    per_node_run: decimalOf(card.per_node_run),
    per_wall_ms: decimalOf(card.per_wall_ms),
    per_cpu_ms: decimalOf(card.per_cpu_ms),
    per_gb_ms_memory: decimalOf(card.per_gb_ms_memory),
    per_net_byte: decimalOf(card.per_net_byte),
    per_row: decimalOf(card.per_row),
    per_query_ms: decimalOf(card.per_query_ms),
    per_byte_stored: decimalOf(card.per_byte_stored),
  };
  PRICES.set(card, prices);
  return prices;
}

/**
 * Formats 1e-8 USD units as a decimal string with 8 decimals, e.g. `"0.00001250"`. A number
 * is rounded to an integer first (exact only up to 2^53 units; pass a bigint beyond).
 */
export function formatMoney(units: bigint | number): string {
  const exact = typeof units === 'bigint' ? units : BigInt(Math.round(units));
  const sign = exact < 0n ? '-' : '';
  const abs = exact < 0n ? -exact : exact;
  const whole = abs / UNITS_PER_USD;
  const frac = String(abs % UNITS_PER_USD).padStart(8, '0');
  return `${sign}${whole}.${frac}`;
}

/**
 * Parses a decimal money string (as stored in Postgres numeric, or a `max_cost`) into exact
 * 1e-8 USD units; digits past the 8th decimal are dropped.
 */
export function parseMoney(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', frac = ''] = (negative ? text.slice(1) : text).split('.');
  const units =
    BigInt(whole === '' ? '0' : whole) * UNITS_PER_USD + BigInt(frac.padEnd(8, '0').slice(0, 8));
  return negative ? -units : units;
}
