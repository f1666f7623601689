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
import {
  mentionsSecrets,
  parseSecretRef,
  type ResolvedSecrets,
  type SecretRef,
} from '../credentials/credential-rules.ts';

type Segment =
  | { readonly text: string }
  | { readonly expr: CompiledExpression }
  | { readonly secret: SecretRef };

/**
 * Which top-level config fields are taken as they are (`raw`, never rendered) and which may
 * reference credentials as `{{ secrets.<name>.<key> }}` (`secrets`; none when absent).
 */
export interface ConfigFields {
  readonly raw: readonly string[];
  readonly secrets?: readonly string[];
  /** Names the config's owner in problems (`node 'fetch'`). */
  readonly owner?: string;
}

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
  /** The credential values the templates reference, each once, in order of appearance. */
  readonly secretRefs: readonly SecretRef[];
  /**
   * Every template is evaluated within `options` (the node's deadline, its signal). Secret
   * references are filled from `secrets` (resolved by the caller just before), never from
   * `context`: no JSONata expression sees a secret.
   */
  render(
    context: unknown,
    options?: EvaluateOptions,
    secrets?: ResolvedSecrets,
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
  readonly fields: ConfigFields;
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

/** Whether the slot's field may reference credentials, and the problem when it may not. */
function secretProblem(slot: ParsedSlot, fields: ConfigFields, source: string) {
  const allowed = fields.secrets?.includes(String(slot.path[0])) === true;
  const owner = fields.owner === undefined ? '' : `${fields.owner}: `;
  if (!allowed) {
    const where = fields.secrets?.length ? ` (only in ${fields.secrets.join(', ')})` : '';
    return `${owner}secrets are not available here${where}`;
  }
  return parseSecretRef(source) === undefined
    ? `${owner}secrets may only be referenced as {{ secrets.<name>.<key> }}`
    : undefined;
}

function compileSlot(slot: ParsedSlot, problems: FieldProblem[], acc: Collected): Slot | undefined {
  const { base, fields } = acc;
  const segments: Segment[] = [];
  for (const part of slot.parsed.parts) {
    if (part.kind === 'text') {
      segments.push({ text: part.text });
      continue;
    }
    const ref = parseSecretRef(part.source);
    if (ref !== undefined || mentionsSecrets(part.source)) {
      const problem = secretProblem(slot, fields, part.source);
      if (problem === undefined && ref !== undefined) {
        segments.push({ secret: ref });
        continue;
      }
      problems.push({ path: pointer(base, slot.path), message: problem ?? 'invalid reference' });
      return undefined;
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

interface RenderInputs {
  readonly context: unknown;
  readonly options: EvaluateOptions | undefined;
  readonly secrets: ResolvedSecrets | undefined;
}

function secretValue(ref: SecretRef, secrets: ResolvedSecrets | undefined) {
  const data = secrets?.get(ref.name);
  // Own keys only: `constructor` is a valid key name and must not reach Object.prototype.
  const value = data !== undefined && Object.hasOwn(data, ref.key) ? data[ref.key] : undefined;
  return typeof value !== 'string'
    ? err<ExpressionFailure>({
        reason: 'error',
        message: `credential '${ref.name}' has no key '${ref.key}'`,
      })
    : ok(value);
}

async function evaluateSegment(
  segment: Exclude<Segment, { text: string }>,
  inputs: RenderInputs,
): Promise<Result<unknown, ExpressionFailure>> {
  if ('secret' in segment) return secretValue(segment.secret, inputs.secrets);
  return segment.expr.evaluate(inputs.context, inputs.options);
}

async function renderSlot(
  slot: Slot,
  inputs: RenderInputs,
): Promise<Result<unknown, ExpressionFailure>> {
  if (slot.single) {
    const only = slot.segments.find((s) => !('text' in s));
    if (only && !('text' in only)) return evaluateSegment(only, inputs);
  }
  let out = '';
  for (const segment of slot.segments) {
    if ('text' in segment) {
      out += segment.text;
      continue;
    }
    const value = await evaluateSegment(segment, inputs);
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

const isFieldList = (f: readonly string[] | ConfigFields): f is readonly string[] =>
  Array.isArray(f);

function uniqueRefs(slots: readonly Slot[]): SecretRef[] {
  const seen = new Map<string, SecretRef>();
  for (const slot of slots)
    for (const segment of slot.segments)
      if ('secret' in segment)
        seen.set(`${segment.secret.name}.${segment.secret.key}`, segment.secret);
  return [...seen.values()];
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
 * Compiles every `{{ }}` in `config` except under the top-level raw fields (a list, or
 * {@link ConfigFields} which also says where `{{ secrets.<name>.<key> }}` may appear; any other
 * mention of `secrets` in a template is a problem). Problems
 * carry JSON-pointer paths under `base` (e.g. `/nodes/2/config`); a config over
 * {@link MAX_TEMPLATES_PER_STRING}, {@link MAX_TEMPLATES_PER_CONFIG} or
 * {@link MAX_TEMPLATE_SOURCE_CHARS} is a problem before anything is compiled.
 */
export function compileConfig(
  config: Readonly<Record<string, unknown>>,
  rawFieldsOrFields: readonly string[] | ConfigFields,
  base = '/config',
): Result<CompiledConfig, FieldProblem[]> {
  const fields: ConfigFields = isFieldList(rawFieldsOrFields)
    ? { raw: rawFieldsOrFields }
    : rawFieldsOrFields;
  const rawFields = fields.raw;
  const acc: Collected = {
    slots: [],
    problems: [],
    base,
    fields,
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
    const slot = compileSlot(parsed, acc.problems, acc);
    if (slot) slots.push(slot);
  }
  if (acc.problems.length > 0) return err(acc.problems);
  return ok({
    hasTemplates: slots.length > 0,
    secretRefs: uniqueRefs(slots),
    async render(context, options, secrets) {
      if (slots.length === 0) return ok(config as Record<string, unknown>);
      const out = structuredClone(config) as Record<string, unknown>;
      // The value cap holds for the whole config, not per template: sixty templates of
      // 10 MB each must fail at the second, not fill the heap.
      const budget = options?.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
      let total = 0;
      for (const slot of slots) {
        const value = await renderSlot(slot, { context, options, secrets });
        if (!value.ok) return err({ path: pointer(base, slot.path), ...value.error });
        total += renderedBytes(value.value, budget - total);
        if (total > budget) return err(overBudget(pointer(base, slot.path), budget));
        setAt(out, slot.path, value.value);
      }
      return ok(out);
    },
  });
}
