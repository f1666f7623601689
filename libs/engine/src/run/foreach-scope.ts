import { iterationWidth, type NodeState, type RunError } from '@linkflow/domain';
import { abortError, NodeError } from '@linkflow/nodes';
import { childController } from './abortable.ts';
import { runNode, type NodeRunResult } from './node-runner.ts';
import { resumedRegionStates, runRegion, type RegionOutcome } from './region-runner.ts';
import { scopeResult } from './scope-result.ts';
import type { MemberRun, ScopeRuntime } from './scope-runtime.ts';

/** Defaults of a foreach's config (docs/api.md). */
const DEFAULT_MAX_PARALLEL = 5;

interface ForeachOptions {
  readonly parallel?: boolean;
  readonly max_parallel?: number;
}

/** One iteration: the body as a region with `item` and `index`, resumed from its checkpoints. */
function runIteration(
  rt: ScopeRuntime,
  run: MemberRun,
  it: { item: unknown; index: number; signal: AbortSignal; commits?: Promise<void>[] | undefined },
): Promise<RegionOutcome> {
  const key = `${run.node.spec.id}/body`;
  const dag = rt.workflow.scopes.regions.get(key);
  const states = dag ? resumedRegionStates(rt, dag, it.index) : new Map<string, NodeState>();
  const base = { ...run.input, item: it.item, index: it.index };
  const region = {
    ...{ key, base, signal: it.signal, iteration: it.index },
    ...(it.commits ? { commits: it.commits } : {}),
  };
  // The iteration's member outputs are dropped once it ends: only its value lives on.
  return runRegion(rt, region, states).finally(() => rt.memberOutputs.delete(it.index));
}

/** Settles when every write settled; rejects with the first failure (no unhandled rejection). */
function allWritten(commits: readonly Promise<void>[]): Promise<unknown> {
  const all = Promise.all(commits);
  all.catch(() => undefined);
  return all;
}

/** What the lanes of one loop share. */
interface Lanes {
  readonly rt: ScopeRuntime;
  readonly run: MemberRun;
  readonly items: readonly unknown[];
  readonly values: unknown[];
  readonly controller: Pick<AbortController, 'signal' | 'abort'>;
  /** In parallel, a lane runs ahead of its last iteration's writes (see {@link runLane}). */
  readonly ahead: boolean;
  next: number;
  failure: { index: number; error: RunError } | undefined;
}

/**
 * One lane: takes items until none is left. In parallel it runs its next iteration while the
 * last one's sink checkpoints commit (at most one iteration's writes outstanding), so
 * computing and committing overlap; one at a time, each iteration is durable before the next
 * starts (strict order). When it throws, its own writes still settle first.
 */
async function runLane(l: Lanes): Promise<void> {
  const { rt, run, items, controller } = l;
  let writing: Promise<unknown> = Promise.resolve();
  let commits: Promise<void>[] = [];
  try {
    while (l.next < items.length && !controller.signal.aborted) {
      const index = l.next++;
      commits = [];
      const it = { item: items[index], index, signal: controller.signal };
      const outcome = await runIteration(rt, run, {
        ...it,
        commits: l.ahead ? commits : undefined,
      });
      await writing;
      writing = allWritten(commits);
      if (outcome.status === 'success') l.values[index] = outcome.value;
      else if (outcome.status === 'failed' && l.failure === undefined) {
        l.failure = { index, error: outcome.error };
        const message = `cancelled because iteration ${index} of ${run.node.spec.id} failed`;
        controller.abort(new NodeError('CANCELLATION', message, { retryable: false }));
      }
    }
    await writing;
  } catch (err) {
    await Promise.allSettled([writing, ...commits]);
    throw err;
  }
}

/**
 * Runs the iterations `width` at a time; the first failure cancels the rest. A lane that
 * throws (a checkpoint that cannot be written) stops the others, as interrupted rather than
 * settled, and the loop throws only once every lane has ended: nothing of this attempt is
 * still running or writing when its job fails.
 */
async function runIterations(
  rt: ScopeRuntime,
  run: MemberRun,
  loop: { items: readonly unknown[]; width: number },
): Promise<{ values: unknown[]; failure: { index: number; error: RunError } | undefined }> {
  const { items, width } = loop;
  const { controller, dispose } = childController(run.signal);
  const l: Lanes = {
    ...{ rt, run, items, controller, ahead: width > 1 },
    ...{ values: items.map(() => null), next: 0, failure: undefined },
  };
  let thrown: { err: unknown } | undefined;
  const lane = () =>
    runLane(l).catch((err: unknown) => {
      if (thrown !== undefined) return;
      thrown = { err };
      rt.abandon();
      controller.abort(err);
    });
  try {
    await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  } finally {
    dispose();
  }
  if (thrown !== undefined) throw thrown.err;
  return { values: l.values, failure: l.failure };
}

/**
 * Runs a foreach: evaluates `items` (the node itself, with its retries, timeout and cost),
 * then the body once per item, one at a time or `max_parallel` at once (within
 * `max_concurrency`). Iterations a resumed run finds checkpointed do not run again. The first
 * failed iteration cancels the others and fails the node; the output is the body's sink
 * outputs in item order. Items and outputs count toward the retained-output cap.
 */
export async function runForeach(rt: ScopeRuntime, run: MemberRun): Promise<NodeRunResult> {
  const { node } = run;
  const startedAt = rt.deps.clock.now();
  const own = await runNode(rt.deps, node, {
    input: run.input,
    signal: run.signal,
    tenantId: rt.tenantId,
  });
  if (own.status !== 'success') return own;
  const items = own.output as unknown[];
  const over = rt.retained?.add(node.spec.id, own.outputBytes);
  if (over?.status === 'failed')
    return scopeResult(rt, { node, startedAt, own, status: 'failed', error: over.error });
  const options = node.spec.config as ForeachOptions;
  const width = iterationWidth({
    parallel: options.parallel === true,
    maxParallel: options.max_parallel ?? DEFAULT_MAX_PARALLEL,
    maxConcurrency: rt.workflow.settings.max_concurrency,
  });
  const { values, failure } = await runIterations(rt, run, { items, width });
  const data = { iterations: items.length };
  if (run.signal.aborted) {
    const e = abortError(run.signal);
    const error = { type: e.type, message: e.message };
    return scopeResult(rt, { node, startedAt, own, status: 'cancelled', error, data });
  }
  if (failure !== undefined) {
    const { index, error } = failure;
    const failed = { ...error, message: `iteration ${index}: ${error.message}`, iteration: index };
    return scopeResult(rt, { node, startedAt, own, status: 'failed', error: failed, data });
  }
  return scopeResult(rt, { node, startedAt, own, status: 'success', output: values, data });
}
