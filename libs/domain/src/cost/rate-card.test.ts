import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../workflow/validate-workflow.ts';
import { fakeCatalog } from '../testing/fake-catalog.ts';
import { DEFAULT_RATE_CARD, costUnits, parseMoney } from './cost-model.ts';
import { parseRateCard } from './rate-card.ts';

describe('parseRateCard', () => {
  it('overrides the fields it names and keeps the defaults for the rest', () => {
    const parsed = parseRateCard('{"per_node_run": 0.5, "per_row": 0}');
    expect(parsed).toEqual({
      ok: true,
      card: { ...DEFAULT_RATE_CARD, per_node_run: 0.5, per_row: 0 },
    });
    expect(parseRateCard('{}')).toEqual({ ok: true, card: DEFAULT_RATE_CARD });
  });

  it('names every bad field', () => {
    const parsed = parseRateCard('{"per_node_run": -1, "per_row": "2", "per_rows": 1}');
    expect(parsed.ok).toBe(false);
    const issues = parsed.ok ? [] : parsed.issues;
    expect(issues.some((i) => i.startsWith('per_node_run: '))).toBe(true);
    expect(issues.some((i) => i.startsWith('per_row: '))).toBe(true);
    expect(issues.some((i) => i.includes('per_rows'))).toBe(true);
  });

  it('rejects text that is not JSON, a non-object and another currency', () => {
    expect(parseRateCard('{per_row: 1}')).toMatchObject({ ok: false });
    expect(parseRateCard('[]')).toMatchObject({ ok: false });
    const eur = parseRateCard('{"currency": "EUR"}');
    expect(eur.ok ? [] : eur.issues).toEqual([expect.stringMatching(/^currency: /)]);
  });

  it('changes what a node run costs', () => {
    const parsed = parseRateCard('{"per_node_run": 0.25, "per_wall_ms": 0.001}');
    if (!parsed.ok) throw new TypeError('expected a card');
    expect(costUnits({ wall_ms: 1000, bytes_stored: 0 }, parsed.card)).toBe(125_000_000n);
    expect(costUnits({ wall_ms: 1000, bytes_stored: 0 })).toBe(1100n);
  });
});

describe('settings.max_cost', () => {
  const base = { name: 'w', nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }] };
  const valid = (max_cost: unknown) =>
    validateWorkflow({ ...base, settings: { max_cost } }, fakeCatalog()).ok;

  it('accepts a USD decimal string of at most 7 integer digits and 8 decimals', () => {
    expect(valid('0.05')).toBe(true);
    expect(valid('0')).toBe(true);
    expect(valid('9999999.99999999')).toBe(true);
    expect(parseMoney('9999999.99999999')).toBe(999_999_999_999_999n);
  });

  it('rejects numbers, negatives, exponents, too many digits and leading zeros', () => {
    for (const bad of [0.05, '-1', '1e-3', '0.123456789', '10000000', '01', '.5', '', ' 1']) {
      expect(valid(bad), String(bad)).toBe(false);
    }
  });
});
