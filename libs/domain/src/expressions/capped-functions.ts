import jsonata from 'jsonata';
import { AppError } from '../errors/app-error.ts';
import { distinctValues, mergeSort, type Comparator } from './collection-functions.ts';
import { findUnsafeConstruct } from './compile-checks.ts';
import { MAX_EVAL_DEPTH, MAX_EVAL_SOURCES, type EvaluationGuard } from './evaluation-guard.ts';
import { jsonBytesAtLeast } from './json-size.ts';
import { codePointLength, pad, substring } from './string-functions.ts';

/**
 * Built-ins that do their work in one native call, where no evaluation hook can stop
 * them, are replaced on every compiled expression: by a check of what they would build
 * (or hand to a backtracking RegExp) before the original runs, or by an equivalent
 * that is linear and checks the evaluation's budget as it goes.
 */

/** What jsonata passes as `this` to a registered function. */
export interface Focus {
  readonly environment: unknown;
  readonly createSequence: () => unknown[];
}

type Implementation = (this: Focus, ...args: never[]) => unknown;
type GuardOf = (environment: unknown) => EvaluationGuard;
type Registered = Parameters<jsonata.Expression['registerFunction']>[1];

const WRAPPED = ['string', 'toMillis', 'eval', 'split'] as const;
type Wrapped = (typeof WRAPPED)[number];
let originals: Promise<Record<Wrapped, { implementation: Implementation }>> | undefined;

/** jsonata's own implementations, read once by evaluating the functions as values. */
function original(name: Wrapped): Promise<{ implementation: Implementation }> {
  originals ??= jsonata(`{${WRAPPED.map((n) => `"${n}": $${n}`).join(', ')}}`).evaluate(
    {},
  ) as Promise<Record<Wrapped, { implementation: Implementation }>>;
  return originals.then((all) => all[name]);
}

/**
 * `$toMillis(text, picture)` matches `text` with a native RegExp built from the picture;
 * word pictures (`[Yw]`) backtrack exponentially in the text's length. Real
 * timestamps are short.
 */
export const MAX_TIMESTAMP_LENGTH = 64;

const overLimit = (guard: EvaluationGuard, what: string) =>
  guard.fail('limit', `${what} would be over the ${guard.maxValueBytes}-byte limit`);

/** How many pieces `text.split(separator)` makes, counting no further than `max + 1`. */
function piecesUpTo(text: string, separator: string, max: number): number {
  if (separator === '') return text.length;
  let pieces = 1;
  for (let at = text.indexOf(separator); at !== -1 && pieces <= max; pieces++)
    at = text.indexOf(separator, at + separator.length);
  return pieces;
}

/** Checks run before the original built-in. */
const CHECKS: Record<Wrapped, (guard: EvaluationGuard, args: unknown[]) => void> = {
  string(guard, [value]) {
    if (jsonBytesAtLeast(value, guard.maxValueBytes) > guard.maxValueBytes)
      throw overLimit(guard, '$string of this value');
  },
  toMillis(guard, [text, picture]) {
    if (picture !== undefined && typeof text === 'string' && text.length > MAX_TIMESTAMP_LENGTH)
      throw guard.fail(
        'limit',
        `$toMillis with a picture reads at most ${MAX_TIMESTAMP_LENGTH} characters`,
      );
  },
  eval(guard, [source]) {
    // Each distinct source is parsed (a jsonata instance) and checked once per evaluation.
    if (typeof source !== 'string' || guard.evalSources.has(source)) return;
    if (guard.evalSources.size >= MAX_EVAL_SOURCES)
      throw guard.fail('limit', `$eval of more than ${MAX_EVAL_SOURCES} different sources`);
    let ast: unknown;
    try {
      ast = jsonata(source).ast();
    } catch {
      return; // the original reports the parse error
    }
    const problem = findUnsafeConstruct(ast);
    if (problem !== undefined) throw guard.fail('limit', `$eval: ${problem}`);
    guard.evalSources.add(source);
  },
  split(guard, [text, separator, limit]) {
    if (typeof text !== 'string' || typeof separator !== 'string') return;
    // With a limit, jsonata returns at most that many pieces.
    if (typeof limit === 'number' && limit <= guard.maxItems) return;
    if (piecesUpTo(text, separator, guard.maxItems) > guard.maxItems)
      throw guard.fail('limit', `$split would make more than ${guard.maxItems} pieces`);
  },
};

function wrapped(name: Wrapped, guardOf: GuardOf): Implementation {
  return async function (this: Focus, ...args: never[]) {
    const guard = guardOf(this.environment);
    CHECKS[name](guard, args);
    const { implementation } = await original(name);
    if (name !== 'eval') return implementation.apply(this, args);
    // Recursion through $eval nests whole evaluations (and their parses).
    if (guard.evalDepth >= MAX_EVAL_DEPTH)
      throw guard.fail('limit', `$eval nested more than ${MAX_EVAL_DEPTH} deep`);
    guard.evalDepth++;
    try {
      return await implementation.apply(this, args);
    } finally {
      guard.evalDepth--;
    }
  };
}

/** Replacements (same results, linear, budgeted), with jsonata's signatures. */
function replacements(guardOf: GuardOf): Record<string, [Implementation, string]> {
  return {
    length: [
      (text: string | undefined) => (text === undefined ? undefined : codePointLength(text)),
      '<s-:n>',
    ],
    substring: [substring, '<s-nn?:s>'],
    pad: [
      function (this: Focus, text: string | undefined, width: number, char?: string) {
        const guard = guardOf(this.environment);
        if (Math.abs(width) > guard.maxValueBytes) throw overLimit(guard, `$pad to width ${width}`);
        return pad(text, width, char);
      },
      '<s-ns?:s>',
    ],
    join: [
      function (this: Focus, strings: string[] | undefined, separator = '') {
        if (strings === undefined) return undefined;
        let total = separator.length * Math.max(strings.length - 1, 0);
        for (const s of strings) total += s.length;
        const guard = guardOf(this.environment);
        if (total > guard.maxValueBytes) throw overLimit(guard, `$join of ${total} characters`);
        return strings.join(separator);
      },
      '<a<s>s?:s>',
    ],
    sort: [
      function (this: Focus, items: unknown[] | undefined, comparator?: Comparator) {
        if (items === undefined || items.length <= 1) return items;
        const guard = guardOf(this.environment);
        return mergeSort(items, comparator ?? defaultAfter(guard, items), () => guard.pulse());
      },
      '<af?:a>',
    ],
    distinct: [
      function (this: Focus, items: unknown) {
        if (!Array.isArray(items) || items.length <= 1) return items;
        const guard = guardOf(this.environment);
        const into = 'sequence' in items ? this.createSequence() : [];
        return distinctValues(items, into, () => guard.pulse());
      },
      '<x:x>',
    ],
  };
}

/** jsonata's default order: numbers or strings only, ascending. */
function defaultAfter(guard: EvaluationGuard, items: readonly unknown[]): Comparator {
  const numbers = items.every((v) => typeof v === 'number');
  if (!numbers && !items.every((v) => typeof v === 'string'))
    throw guard.fail(
      'error',
      'D3070: The single argument form of the sort function can only be applied to an array of strings or an array of numbers.  Use the second argument to specify a comparison function',
    );
  return (a, b) => (a as number | string) > (b as number | string);
}

function registerCappedFunctions(expression: jsonata.Expression, guardOf: GuardOf): string[] {
  const signatures: Record<Wrapped, string> = {
    string: '<x-b?:s>',
    toMillis: '<s-s?:n>',
    eval: '<sx?:x>',
    split: '<s-(sf)n?:a<s>>',
  };
  for (const name of WRAPPED)
    expression.registerFunction(
      name,
      wrapped(name, guardOf) as unknown as Registered,
      signatures[name],
    );
  const replaced = Object.entries(replacements(guardOf));
  for (const [name, [implementation, signature]] of replaced)
    expression.registerFunction(name, implementation as unknown as Registered, signature);
  return [...WRAPPED, ...replaced.map(([name]) => name)];
}

const HOOK_ENTRY = Symbol.for('jsonata.__evaluate_entry');
const definitions = new WeakMap<GuardOf, ReadonlyMap<string, unknown>>();

/**
 * The capped built-ins as jsonata function values, defined once: registerFunction
 * parses each signature into a matcher, which made every compiled template twice as
 * costly. They are read back from a prototype expression whose entry hook runs
 * synchronously on `evaluate` (before its first await).
 */
function sharedDefinitions(guardOf: GuardOf): ReadonlyMap<string, unknown> {
  const known = definitions.get(guardOf);
  if (known) return known;
  const prototype = jsonata('0');
  const names = registerCappedFunctions(prototype, guardOf);
  const found = new Map<string, unknown>();
  const read = (_node: unknown, _input: unknown, environment: { lookup(n: string): unknown }) => {
    for (const name of names) found.set(name, environment.lookup(name));
  };
  prototype.assign(HOOK_ENTRY as unknown as string, read);
  prototype.evaluate({}).catch(() => undefined);
  if (found.size !== names.length)
    throw new AppError('INTERNAL', 'could not read the capped built-ins back', {
      kind: 'internal',
    });
  definitions.set(guardOf, found);
  return found;
}

/**
 * Binds the capped built-ins on a compiled expression. `guardOf` finds the running
 * evaluation's guard from the `this.environment` jsonata passes.
 */
export function bindCappedFunctions(expression: jsonata.Expression, guardOf: GuardOf): void {
  for (const [name, definition] of sharedDefinitions(guardOf)) expression.assign(name, definition);
}
