import jsonata from 'jsonata';
import { err, ok, type Result } from '../result.ts';
import { bindCappedFunctions } from './capped-functions.ts';
import { findUnsafeConstruct } from './compile-checks.ts';
import {
  EvaluationGuard,
  ExpressionLimitError,
  MAX_EVALUATION_DEPTH,
  type EvaluateOptions,
  type ExpressionFailure,
} from './evaluation-guard.ts';
import { jsonBytesAtLeast } from './json-size.ts';
import { LinearRegExp } from './safe-regex.ts';

export type {
  EvaluateOptions,
  ExpressionFailure,
  ExpressionFailureReason,
} from './evaluation-guard.ts';

/** A JSONata expression compiled once (per workflow version) and evaluated many times. */
export interface CompiledExpression {
  readonly source: string;
  /**
   * Evaluates over `context` within `options`' limits: a runaway expression fails
   * with reason `timeout`, `aborted` or `limit` instead of holding the event loop.
   */
  evaluate(
    context: unknown,
    options?: EvaluateOptions,
  ): Promise<Result<unknown, ExpressionFailure>>;
}

/**
 * The binding that carries an evaluation's guard into jsonata's hooks. Its name has a
 * space, so no expression can read, assign or shadow it (`$name` stops at a space).
 */
const GUARD_BINDING = ' linkflow guard';
const HOOK_ENTRY = Symbol.for('jsonata.__evaluate_entry');
const HOOK_EXIT = Symbol.for('jsonata.__evaluate_exit');

/** The slice of jsonata's environment frame the hooks use (`base` is the evaluation's root). */
interface Frame {
  lookup(name: string): unknown;
  readonly base: { [GUARD_BINDING]?: EvaluationGuard; RegexEngine?: unknown };
}

function guardOf(environment: unknown): EvaluationGuard {
  const frame = environment as Frame;
  let guard = frame.base[GUARD_BINDING];
  if (guard === undefined) {
    guard = frame.lookup(GUARD_BINDING) as EvaluationGuard;
    frame.base[GUARD_BINDING] = guard;
  }
  return guard;
}

function onEntry(node: { type?: string }, _input: unknown, environment: unknown) {
  const guard = guardOf(environment);
  const wait = guard.enter(node);
  // evaluateRegex builds its matcher from `base.RegexEngine` right after this hook.
  if (node.type === 'regex') (environment as Frame).base.RegexEngine = guard.regexEngine();
  return wait;
}

function onExit(node: object, _input: unknown, environment: unknown, result: unknown): void {
  guardOf(environment).exit(node, result);
}

/** JSONata throws plain objects `{code, message, position}`; this reads their message. */
function messageOf(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'message' in e && typeof e.message === 'string') {
    const code = 'code' in e && typeof e.code === 'string' ? `${e.code}: ` : '';
    return `${code}${e.message}`;
  }
  return String(e);
}

function failureOf(e: unknown, guard: EvaluationGuard): ExpressionFailure {
  if (guard.failure) return guard.failure;
  if (e instanceof ExpressionLimitError) return e.failure;
  const isDepth = typeof e === 'object' && e !== null && 'code' in e && e.code === 'D1011';
  return { reason: isDepth ? 'limit' : 'error', message: messageOf(e) };
}

async function run(
  compiled: jsonata.Expression,
  context: unknown,
  options: EvaluateOptions | undefined,
): Promise<Result<unknown, ExpressionFailure>> {
  const guard = new EvaluationGuard(options);
  let value: unknown;
  try {
    guard.check();
    value = await compiled.evaluate(context, { [GUARD_BINDING]: guard });
  } catch (e) {
    return err(failureOf(e, guard));
  }
  // A failure jsonata caught and turned into a value still fails the evaluation.
  if (guard.failure) return err(guard.failure);
  if (jsonBytesAtLeast(value, guard.maxValueBytes) > guard.maxValueBytes)
    return err({
      reason: 'limit',
      message: `expression result is over the ${guard.maxValueBytes}-byte limit`,
    });
  return ok(value);
}

/**
 * Compiles a JSONata expression; a parse error (or a construct that could stall the
 * event loop: a regex RE2 cannot run, a backtracking signature) comes back as the
 * error message. Regexes run on RE2 (linear time); evaluation depth is capped.
 */
export function compileExpression(source: string): Result<CompiledExpression, string> {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(source, {
      RegexEngine: LinearRegExp as unknown as RegExpConstructor,
      stack: MAX_EVALUATION_DEPTH,
    });
  } catch (e) {
    return err(messageOf(e));
  }
  const unsafe = findUnsafeConstruct(compiled.ast());
  if (unsafe !== undefined) return err(unsafe);
  compiled.assign(HOOK_ENTRY as unknown as string, onEntry);
  compiled.assign(HOOK_EXIT as unknown as string, onExit);
  bindCappedFunctions(compiled, guardOf);
  return ok({
    source,
    evaluate: (context, options) => run(compiled, context, options),
  });
}
