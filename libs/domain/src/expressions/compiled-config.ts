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
import { hasTemplate, parseTemplate, stringifyValue, type ParsedTemplate } from './template.ts';

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

/** Most `{{ }}` templates in one config string. */
export const MAX_TEMPLATES_PER_STRING = 64;
/** Most `{{ }}` templates in one node config. */
export const MAX_TEMPLATES_PER_CONFIG = 256;
/** Most characters of template source (inside the braces) in one node config. */
export const MAX_TEMPLATE_SOURCE_CHARS = 64 * 1024;

interface ParsedSlot {
  readonly path: (string | number)[];
  readonly parsed: ParsedTemplate;
}

interface Collected {
  readonly slots: ParsedSlot[];
  readonly problems: FieldProblem[];
  readonly base: string;
  templates: number;
  sourceChars: number;
  /** Set once a config-wide limit is passed: later strings are not parsed. */
  overflow: boolean;
}

/** Parses one string's templates and counts them against the limits; compiles nothing. */
function parseSlot(path: (string | number)[], text: string, acc: Collected): void {
  const parsed = parseTemplate(text, MAX_TEMPLATES_PER_STRING);
  const at = pointer(acc.base, path);
  if (parsed === undefined) {
    acc.problems.push({ path: at, message: 'template has an unclosed or empty {{ }}' });
    return;
  }
  let count = 0;
  for (const part of parsed.parts) {
    if (part.kind !== 'expr') continue;
    count++;
    acc.sourceChars += part.source.length;
  }
  acc.templates += count;
  if (parsed.tooMany === true) {
    acc.problems.push({
      path: at,
      message: `string has more than ${MAX_TEMPLATES_PER_STRING} {{ }} templates`,
    });
    return;
  }
  acc.slots.push({ path, parsed });
}

function compileSlot(slot: ParsedSlot, problems: FieldProblem[], base: string): Slot | undefined {
  const segments: Segment[] = [];
  for (const part of slot.parsed.parts) {
    if (part.kind === 'text') {
      segments.push({ text: part.text });
      continue;
    }
    const compiled = compileExpression(part.source);
    if (!compiled.ok) {
      problems.push({
        path: pointer(base, slot.path),
        message: `expression does not parse: ${compiled.error}`,
      });
      return undefined;
    }
    segments.push({ expr: compiled.value });
  }
  return { path: slot.path, single: slot.parsed.isSingle, segments };
}

function overConfigLimits(acc: Collected): string | undefined {
  if (acc.templates > MAX_TEMPLATES_PER_CONFIG)
    return `config has more than ${MAX_TEMPLATES_PER_CONFIG} {{ }} templates`;
  if (acc.sourceChars > MAX_TEMPLATE_SOURCE_CHARS)
    return `config's {{ }} templates have more than ${MAX_TEMPLATE_SOURCE_CHARS} characters of source`;
  return undefined;
}

function collectSlots(value: unknown, path: (string | number)[], acc: Collected): void {
  if (acc.overflow) return;
  if (typeof value === 'string') {
    if (!hasTemplate(value)) return;
    parseSlot(path, value, acc);
    const over = overConfigLimits(acc);
    if (over === undefined) return;
    acc.overflow = true;
    acc.problems.push({ path: acc.base, message: over });
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
 * carry JSON-pointer paths under `base` (e.g. `/nodes/2/config`); a config over
 * {@link MAX_TEMPLATES_PER_STRING}, {@link MAX_TEMPLATES_PER_CONFIG} or
 * {@link MAX_TEMPLATE_SOURCE_CHARS} is a problem before anything is compiled.
 */
export function compileConfig(
  config: Readonly<Record<string, unknown>>,
  rawFields: readonly string[],
  base = '/config',
): Result<CompiledConfig, FieldProblem[]> {
  const acc: Collected = {
    slots: [],
    problems: [],
    base,
    templates: 0,
    sourceChars: 0,
    overflow: false,
  };
  for (const [key, value] of Object.entries(config)) {
    if (!rawFields.includes(key)) collectSlots(value, [key], acc);
  }
  // Every limit is checked before any template is compiled (a compile costs ~15 KB).
  if (acc.problems.length > 0) return err(acc.problems);
  const slots: Slot[] = [];
  for (const parsed of acc.slots) {
    const slot = compileSlot(parsed, acc.problems, base);
    if (slot) slots.push(slot);
  }
  if (acc.problems.length > 0) return err(acc.problems);
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
