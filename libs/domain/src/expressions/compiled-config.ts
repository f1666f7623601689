import type { FieldProblem } from '../errors/app-error.ts';
import { err, ok, type Result } from '../result.ts';
import {
  compileExpression,
  type CompiledExpression,
  type EvaluateOptions,
  type ExpressionFailure,
  type ExpressionFailureReason,
} from './expression.ts';
import { DEFAULT_MAX_VALUE_BYTES } from './evaluation-guard.ts';
import { jsonBytesAtLeast } from './json-size.ts';
import { hasTemplate, parseTemplate, stringifyValue } from './template.ts';

type Segment = { readonly text: string } | { readonly expr: CompiledExpression };

interface Slot {
  readonly path: readonly (string | number)[];
  readonly single: boolean;
  readonly segments: readonly Segment[];
}

/** A template that failed: where, and why (`timeout`/`aborted` come from `options`). */
export interface RenderProblem extends FieldProblem {
  readonly reason: ExpressionFailureReason;
}

/** A node config whose `{{ }}` templates are compiled; `render` fills them per run. */
export interface CompiledConfig {
  readonly hasTemplates: boolean;
  /** Every template is evaluated within `options` (the node's deadline, its signal). */
  render(
    context: unknown,
    options?: EvaluateOptions,
  ): Promise<Result<Record<string, unknown>, RenderProblem>>;
}

const pointer = (base: string, path: readonly (string | number)[]): string =>
  `${base}/${path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

function compileSlot(
  path: (string | number)[],
  text: string,
  problems: FieldProblem[],
  base: string,
): Slot | undefined {
  const parsed = parseTemplate(text);
  if (parsed === undefined) {
    problems.push({
      path: pointer(base, path),
      message: 'template has an unclosed or empty {{ }}',
    });
    return undefined;
  }
  const segments: Segment[] = [];
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      segments.push({ text: part.text });
      continue;
    }
    const compiled = compileExpression(part.source);
    if (!compiled.ok) {
      problems.push({
        path: pointer(base, path),
        message: `expression does not parse: ${compiled.error}`,
      });
      return undefined;
    }
    segments.push({ expr: compiled.value });
  }
  return { path, single: parsed.isSingle, segments };
}

function collectSlots(
  value: unknown,
  path: (string | number)[],
  acc: { slots: Slot[]; problems: FieldProblem[]; base: string },
): void {
  if (typeof value === 'string') {
    if (!hasTemplate(value)) return;
    const slot = compileSlot(path, value, acc.problems, acc.base);
    if (slot) acc.slots.push(slot);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => collectSlots(item, [...path, i], acc));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) collectSlots(item, [...path, key], acc);
  }
}

async function renderSlot(
  slot: Slot,
  context: unknown,
  options: EvaluateOptions | undefined,
): Promise<Result<unknown, ExpressionFailure>> {
  if (slot.single) {
    const only = slot.segments.find((s) => 'expr' in s);
    if (only && 'expr' in only) return only.expr.evaluate(context, options);
  }
  let out = '';
  for (const segment of slot.segments) {
    if ('text' in segment) {
      out += segment.text;
      continue;
    }
    const value = await segment.expr.evaluate(context, options);
    if (!value.ok) return value;
    out += stringifyValue(value.value);
  }
  return ok(out);
}

function setAt(target: unknown, path: readonly (string | number)[], value: unknown): void {
  let cursor = target as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) cursor = cursor[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (last !== undefined) cursor[last] = value;
}

/** A rendered value's size: a string's length, anything else's JSON bytes (from below). */
const renderedBytes = (value: unknown, limit: number): number =>
  typeof value === 'string' ? value.length : jsonBytesAtLeast(value, limit);

const overBudget = (path: string, budget: number): RenderProblem => ({
  path,
  reason: 'limit',
  message: `the config's rendered templates are together over the ${budget}-byte limit`,
});

/**
 * Compiles every `{{ }}` in `config` except under the top-level `rawFields`. Problems
 * carry JSON-pointer paths under `base` (e.g. `/nodes/2/config`).
 */
export function compileConfig(
  config: Readonly<Record<string, unknown>>,
  rawFields: readonly string[],
  base = '/config',
): Result<CompiledConfig, FieldProblem[]> {
  const acc = { slots: [] as Slot[], problems: [] as FieldProblem[], base };
  for (const [key, value] of Object.entries(config)) {
    if (!rawFields.includes(key)) collectSlots(value, [key], acc);
  }
  if (acc.problems.length > 0) return err(acc.problems);
  const slots = acc.slots;
  return ok({
    hasTemplates: slots.length > 0,
    async render(context, options) {
      if (slots.length === 0) return ok(config as Record<string, unknown>);
      const out = structuredClone(config) as Record<string, unknown>;
      // The value cap holds for the whole config, not per template: sixty templates of
      // 10 MB each must fail at the second, not fill the heap.
      const budget = options?.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
      let total = 0;
      for (const slot of slots) {
        const value = await renderSlot(slot, context, options);
        if (!value.ok) return err({ path: pointer(base, slot.path), ...value.error });
        total += renderedBytes(value.value, budget - total);
        if (total > budget) return err(overBudget(pointer(base, slot.path), budget));
        setAt(out, slot.path, value.value);
      }
      return ok(out);
    },
  });
}
