import { AppError } from '../errors/app-error.ts';
import { LogicalSizes } from './logical-size.ts';
import { checkedRegexEngine, type LinearRegExp } from './safe-regex.ts';

/**
 * Per-evaluation limits. The domain never reads a clock: time limits apply only when
 * the caller passes `now` (the executor passes `performance.now`).
 */
export interface EvaluateOptions {
  /** Milliseconds from an arbitrary origin, the unit of `deadline`. */
  readonly now?: () => number;
  /** Absolute time (in `now` units) the evaluation must end by: the node's deadline. */
  readonly deadline?: number;
  /** Most milliseconds one evaluation may take whatever the deadline (the ceiling). */
  readonly maxMs?: number;
  /** When aborted (cancel, node timeout), the evaluation stops at its next step. */
  readonly signal?: { readonly aborted: boolean };
  /**
   * Gives the event loop a turn (timers, I/O, lock renewal, the cancel message):
   * the executor passes a `setImmediate` promise. Called every `yieldEveryMs`.
   */
  readonly yieldToLoop?: () => Promise<void>;
  readonly yieldEveryMs?: number;
  /**
   * Longest string (UTF-16 units) any step may build, and the largest result (JSON
   * bytes, counted from below); arrays may hold half as many items.
   */
  readonly maxValueBytes?: number;
}

/**
 * Why an evaluation failed: its own error; `timeout`, the per-evaluation ceiling;
 * `deadline`, the caller's (the node's) deadline; `aborted`; a size or depth `limit`.
 */
export type ExpressionFailureReason = 'error' | 'timeout' | 'deadline' | 'aborted' | 'limit';

export interface ExpressionFailure {
  readonly reason: ExpressionFailureReason;
  readonly message: string;
}

export const DEFAULT_MAX_VALUE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_YIELD_EVERY_MS = 5;
/** Evaluation nesting depth (about three per level of a recursive function). */
export const MAX_EVALUATION_DEPTH = 5000;
/** Bytes of strings and arrays built by functions and ranges, per value cap. */
const BUILT_BYTES_FACTOR = 8;
/** Bytes counted per array slot (a pointer or a double). */
const SLOT_BYTES = 8;
/**
 * Items that path steps may hand to jsonata's native flattening, per evaluation, as a
 * multiple of `maxItems`: `$a.$a` over 20,000 items makes 4 * 10^8 without a hook.
 */
const STEP_ITEMS_FACTOR = 4;
/**
 * Most logical nodes in one value (shared parts counted each time they appear):
 * jsonata's native `=`, `**` and `in` walk about 2 million nodes a second, with no hook.
 */
export const MAX_LOGICAL_NODES = 2 ** 20;
/** Nested `$eval` calls, and distinct `$eval` sources, per evaluation. */
export const MAX_EVAL_DEPTH = 16;
export const MAX_EVAL_SOURCES = 256;

/** Thrown inside jsonata to unwind an evaluation that hit a limit; never escapes it. */
export class ExpressionLimitError extends AppError {
  constructor(readonly failure: ExpressionFailure) {
    super('EXPRESSION_LIMIT', failure.message, { kind: 'user' });
    this.name = 'ExpressionLimitError';
  }
}

/** Names of built-ins whose results are new strings or arrays (counted as built). */
const BUILDERS = new Set([
  'pad',
  'join',
  'string',
  'replace',
  'uppercase',
  'lowercase',
  'substring',
  'trim',
  'base64encode',
  'base64decode',
  'encodeUrl',
  'encodeUrlComponent',
  'decodeUrl',
  'decodeUrlComponent',
  'formatNumber',
  'formatBase',
  'map',
  'filter',
  'split',
  'append',
  'sort',
  'reverse',
  'distinct',
  'zip',
  'spread',
  'keys',
  'shuffle',
  'match',
]);

interface StepNode {
  readonly type?: string;
  readonly steps?: readonly object[];
  readonly value?: unknown;
  readonly procedure?: { readonly value?: unknown };
}

/**
 * One evaluation's budget. jsonata awaits the hooks that call `enter` and `exit` on
 * every step, so the guard can stop a runaway expression between steps and let the
 * event loop run. Once it fails, every later step fails the same way (jsonata's
 * `$eval` wraps errors; the failure must not be lost).
 */
export class EvaluationGuard {
  failure: ExpressionFailure | undefined;
  readonly maxValueBytes: number;
  /** Most items in one array: no JSON array within `maxValueBytes` holds more. */
  readonly maxItems: number;
  /** Most logical nodes in one value: {@link MAX_LOGICAL_NODES} or `maxItems` if fewer. */
  readonly maxNodes: number;
  private readonly limitAt: number;
  private readonly ceilingBinds: boolean;
  private lastYield: number;
  private built = 0;
  private stepItems = 0;
  private readonly sizes = new LogicalSizes();
  /** Steps of the paths entered so far: their array results get flattened natively. */
  private readonly pathSteps = new WeakSet<object>();
  /** `$eval` sources already checked in this evaluation, and the current nesting. */
  readonly evalSources = new Set<string>();
  evalDepth = 0;
  private engine: typeof LinearRegExp | undefined;

  constructor(private readonly options: EvaluateOptions = {}) {
    this.maxValueBytes = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
    this.maxItems = Math.floor(this.maxValueBytes / 2);
    this.maxNodes = Math.min(this.maxItems, MAX_LOGICAL_NODES);
    const start = options.now?.() ?? 0;
    this.lastYield = start;
    const ceiling = options.maxMs === undefined ? Infinity : start + options.maxMs;
    const deadline = options.deadline ?? Infinity;
    this.limitAt = Math.min(ceiling, deadline);
    this.ceilingBinds = ceiling <= deadline;
  }

  /** Fails the evaluation (sticky) and returns the error to throw. */
  fail(reason: ExpressionFailureReason, message: string): ExpressionLimitError {
    this.failure ??= { reason, message };
    return new ExpressionLimitError(this.failure);
  }

  /** Before a step: stops on a failure, an abort or the time limit; yields when due. */
  enter(node: StepNode): Promise<void> | undefined {
    const wait = this.pulse();
    if (node.type === 'path') for (const step of node.steps ?? []) this.pathSteps.add(step);
    if (node.type === 'regex') this.engine ??= checkedRegexEngine(() => this.check());
    return wait;
  }

  /**
   * Checks the budget (throws when spent) and, every `yieldEveryMs`, returns a promise
   * that resolves after a turn of the event loop. Long native loops call it too.
   */
  pulse(): Promise<void> | undefined {
    const t = this.tick();
    const { yieldToLoop } = this.options;
    if (t === undefined || yieldToLoop === undefined) return undefined;
    if (t - this.lastYield < (this.options.yieldEveryMs ?? DEFAULT_YIELD_EVERY_MS))
      return undefined;
    this.lastYield = t;
    return yieldToLoop();
  }

  /** The regex class bound to this evaluation (its searches check the budget). */
  regexEngine(): typeof LinearRegExp | undefined {
    return this.engine;
  }

  /** Throws when the evaluation has failed, been aborted or run out of time. */
  check(): void {
    this.tick();
  }

  /** `check`, returning the time it read (undefined without a clock). */
  private tick(): number | undefined {
    if (this.failure !== undefined) throw new ExpressionLimitError(this.failure);
    if (this.options.signal?.aborted === true) throw this.fail('aborted', 'expression aborted');
    const now = this.options.now;
    if (now === undefined) return undefined;
    const t = now();
    if (t < this.limitAt) return t;
    throw this.ceilingBinds
      ? this.fail('timeout', `expression evaluation exceeded the ${this.options.maxMs} ms limit`)
      : this.fail('deadline', "expression evaluation ran past its node's deadline");
  }

  /** After a step: caps the size of what it built and the total built so far. */
  exit(node: StepNode, result: unknown): void {
    let built: number;
    if (typeof result === 'string') {
      if (result.length > this.maxValueBytes)
        throw this.fail(
          'limit',
          `expression built a string of ${result.length} characters, over the ${this.maxValueBytes}-byte limit`,
        );
      built = result.length;
    } else if (Array.isArray(result)) {
      if (result.length > this.maxItems)
        throw this.fail(
          'limit',
          `expression built an array of ${result.length} items, over the ${this.maxItems}-item limit`,
        );
      this.checkLogicalSize(result);
      if (this.pathSteps.has(node)) this.countStepItems(result.length);
      built = result.length * SLOT_BYTES;
    } else {
      if (typeof result === 'object' && result !== null) this.checkLogicalSize(result);
      return;
    }
    if (!isBuilder(node)) return;
    this.built += built;
    const budget = this.maxValueBytes * BUILT_BYTES_FACTOR;
    if (this.built > budget)
      throw this.fail('limit', `expression built more than ${budget} bytes of strings and arrays`);
  }

  /**
   * No value may have more than `maxNodes` logical nodes, shared parts counted every
   * time they appear: so no native walk of one value can hold the event loop long.
   */
  private checkLogicalSize(value: object): void {
    const size = this.sizes.sizeOf(value);
    if (size > this.maxNodes)
      throw this.fail(
        'limit',
        `expression built a value of ${size} nodes (shared parts counted each time), over the ${this.maxNodes}-node limit`,
      );
  }

  private countStepItems(items: number): void {
    this.stepItems += items;
    const budget = this.maxItems * STEP_ITEMS_FACTOR;
    if (this.stepItems > budget)
      throw this.fail('limit', `expression's path steps produced more than ${budget} items`);
  }
}

/** Function calls of built-ins that allocate, and ranges (`[1..n]`). */
function isBuilder(node: StepNode): boolean {
  if (node.type === 'binary') return node.value === '..';
  if (node.type !== 'function') return false;
  const name = node.procedure?.value;
  return typeof name === 'string' && BUILDERS.has(name);
}
