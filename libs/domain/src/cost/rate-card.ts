import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DEFAULT_RATE_CARD, type RateCard } from './cost-model.ts';

const price = (description: string) =>
  Type.Optional(Type.Number({ minimum: 0, maximum: 1000, description }));

/**
 * A rate card file (`LINKFLOW_RATE_CARD`): every field optional, the defaults in code for
 * those left out; unknown fields are rejected (a misspelt price must not silently be 0).
 */
export const RateCardFileSchema = Type.Object(
  {
    currency: Type.Optional(Type.Literal('USD')),
    per_node_run: price('USD per node run (each settled run, all its attempts)'),
    per_wall_ms: price('USD per wall-clock millisecond'),
    per_cpu_ms: price('USD per CPU millisecond'),
    per_gb_ms_memory: price('USD per GB of peak memory per millisecond'),
    per_net_byte: price('USD per network byte in or out'),
    per_row: price('USD per database row'),
    per_query_ms: price('USD per database query millisecond'),
    per_byte_stored: price('USD per byte stored (output checkpoint)'),
  },
  { additionalProperties: false },
);

const checker = TypeCompiler.Compile(RateCardFileSchema);

/** The card, or one issue per bad field (`<field>: <problem>`). */
export type RateCardParse =
  | { readonly ok: true; readonly card: RateCard }
  | { readonly ok: false; readonly issues: readonly string[] };

/** Parses a rate card file's text over {@link DEFAULT_RATE_CARD}. */
export function parseRateCard(text: string): RateCardParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, issues: [`not valid JSON (${(e as SyntaxError).message})`] };
  }
  const seen = new Map<string, string>();
  for (const e of checker.Errors(value)) {
    const field = e.path === '' ? '/' : e.path.slice(1);
    if (!seen.has(field)) seen.set(field, e.message);
  }
  if (seen.size > 0) return { ok: false, issues: [...seen].map(([f, m]) => `${f}: ${m}`) };
  return { ok: true, card: { ...DEFAULT_RATE_CARD, ...(value as Partial<RateCard>) } };
}
