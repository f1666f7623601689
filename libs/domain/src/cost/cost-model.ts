/**
 * The cost model: usage × rate card. Money is computed in integer units of 1e-8 USD
 * (the 8 decimals the API shows) so sums never drift, and printed as a decimal string.
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

const UNITS_PER_USD = 100_000_000;

/** Cost of one node run in 1e-8 USD units (an integer). */
export function costUnits(usage: Usage, card: RateCard = DEFAULT_RATE_CARD): number {
  const gbMs = ((usage.peak_memory_bytes ?? 0) / 1024 ** 3) * (usage.cpu_ms ?? usage.wall_ms);
  const usd =
    card.per_node_run +
    usage.wall_ms * card.per_wall_ms +
    (usage.cpu_ms ?? 0) * card.per_cpu_ms +
    gbMs * card.per_gb_ms_memory +
    ((usage.net_bytes_in ?? 0) + (usage.net_bytes_out ?? 0)) * card.per_net_byte +
    (usage.rows ?? 0) * card.per_row +
    (usage.query_ms ?? 0) * card.per_query_ms +
    (usage.bytes_stored ?? 0) * card.per_byte_stored;
  return Math.round(usd * UNITS_PER_USD);
}

/** Formats 1e-8 USD units as a decimal string with 8 decimals, e.g. `"0.00001250"`. */
export function formatMoney(units: number): string {
  const sign = units < 0 ? '-' : '';
  const abs = Math.abs(Math.round(units));
  const whole = Math.floor(abs / UNITS_PER_USD);
  const frac = String(abs % UNITS_PER_USD).padStart(8, '0');
  return `${sign}${whole}.${frac}`;
}

/** Parses a decimal money string (as stored in Postgres numeric) into 1e-8 USD units. */
export function parseMoney(text: string): number {
  const [whole = '0', frac = ''] = text.replace('-', '').split('.');
  const units = Number(whole) * UNITS_PER_USD + Number(frac.padEnd(8, '0').slice(0, 8));
  return text.startsWith('-') ? -units : units;
}
