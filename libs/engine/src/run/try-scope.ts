import { tryOutput, type NodeState, type RunError } from '@linkflow/domain';
import { abortError } from '@linkflow/nodes';
import type { NodeRunResult } from './node-runner.ts';
import { resumedRegionStates, runRegion, skipRegion, type RegionOutcome } from './region-runner.ts';
import { scopeResult } from './scope-result.ts';
import { abortedByReturn, type MemberRun, type ScopeRuntime } from './scope-runtime.ts';

type TryList = 'try' | 'catch' | 'finally';

function outputsOf(states: ReadonlyMap<string, NodeState>): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  for (const [id, state] of states) if (state.status === 'success') nodes[id] = state.output;
  return nodes;
}

/** Runs one list of the try as a region, resumed from its checkpoints. */
async function runList(
  rt: ScopeRuntime,
  run: MemberRun,
  list: { name: TryList; extraNodes?: Record<string, unknown> },
): Promise<{ outcome: RegionOutcome; outputs: Record<string, unknown> }> {
  const key = `${run.node.spec.id}/${list.name}`;
  const dag = rt.workflow.scopes.regions.get(key);
  const states = dag ? resumedRegionStates(rt, dag, run.iteration) : new Map<string, NodeState>();
  const region = {
    key,
    base: run.input,
    signal: run.signal,
    iteration: run.iteration,
    ...(list.extraNodes ? { extraNodes: list.extraNodes } : {}),
  };
  const outcome = await runRegion(rt, region, states);
  return { outcome, outputs: outputsOf(states) };
}

/**
 * The try was stopped inside a list. After a `return`, the lists it did not reach are
 * recorded `skipped` (return skips every node not yet started; `finally` included, so the
 * execution ends with the returned value); after a cancel or timeout they stay unrecorded,
 * as the execution's unstarted nodes are settled by its own ending.
 */
async function skipUnreached(
  rt: ScopeRuntime,
  run: MemberRun,
  lists: readonly TryList[],
): Promise<void> {
  if (!abortedByReturn(run.signal)) return;
  for (const list of lists)
    await skipRegion(rt, { key: `${run.node.spec.id}/${list}`, iteration: run.iteration });
}

const failureOf = (outcome: RegionOutcome): RunError | null =>
  outcome.status === 'failed' ? outcome.error : null;

/**
 * Runs a try: its `try` list; on a failure there (after the members' own retries) its `catch`
 * list, where `nodes.<try id>` is `{ok: false, error}`; then `finally`, always. The try node
 * fails with a failure of catch or finally, or with the caught error under `propagate`; under
 * `continue` (the default) it succeeds with `{ok, error}`, except after a BUDGET stop, which
 * always fails it. Checkpointed members of a resumed run do not run again.
 */
export async function runTry(rt: ScopeRuntime, run: MemberRun): Promise<NodeRunResult> {
  const { node } = run;
  const id = node.spec.id;
  const startedAt = rt.deps.clock.now();
  const cancelled = (): NodeRunResult => {
    const e = abortError(run.signal);
    const error = { type: e.type, message: e.message };
    return scopeResult(rt, { node, startedAt, status: 'cancelled', error });
  };
  const tried = await runList(rt, run, { name: 'try' });
  if (tried.outcome.status === 'aborted') {
    await skipUnreached(rt, run, ['catch', 'finally']);
    return cancelled();
  }
  const caught = failureOf(tried.outcome);
  const seen = { ...tried.outputs, [id]: tryOutput(caught) };
  let handlerError: RunError | null = null;
  if (caught !== null) {
    const handled = await runList(rt, run, { name: 'catch', extraNodes: seen });
    if (handled.outcome.status === 'aborted') {
      await skipUnreached(rt, run, ['finally']);
      return cancelled();
    }
    handlerError = failureOf(handled.outcome);
    Object.assign(seen, handled.outputs, { [id]: tryOutput(caught) });
  }
  const finished = await runList(rt, run, { name: 'finally', extraNodes: seen });
  if (finished.outcome.status === 'aborted') return cancelled();
  // A budget stop is the execution's limit, not a member's failure: `continue` may not turn it
  // into a success (with an empty catch and finally the execution would end `success`).
  const propagate = node.spec.config['error_scope'] === 'propagate' || caught?.type === 'BUDGET';
  const error =
    failureOf(finished.outcome) ?? handlerError ?? (propagate && caught !== null ? caught : null);
  const data = { ok: caught === null };
  if (error !== null) return scopeResult(rt, { node, startedAt, status: 'failed', error, data });
  return scopeResult(rt, { node, startedAt, status: 'success', output: tryOutput(caught), data });
}
