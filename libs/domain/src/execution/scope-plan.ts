import type { RunError } from '../errors/error-types.ts';
import type { Dag } from '../workflow/dag.ts';
import { isNodeTerminal, summarizeOutcome, type NodeState, type Outcome } from './plan.ts';

/**
 * The value a region produced: the output of its only sink that succeeded, an object keyed
 * by sink id when it has several, null when it is empty. Undefined while a member is
 * unsettled.
 */
export function regionResult(
  dag: Dag,
  states: ReadonlyMap<string, NodeState>,
): { ok: true; value: unknown } | { ok: false; error: RunError } | undefined {
  const outcome: Outcome | undefined = summarizeOutcome(dag, states);
  if (outcome === undefined) return undefined;
  if (outcome.status === 'failed') return { ok: false, error: outcome.error };
  const cancelled = dag.order.find((id) => states.get(id)?.status === 'cancelled');
  if (cancelled !== undefined) {
    const error = states.get(cancelled)?.error ?? { type: 'CANCELLATION', message: 'cancelled' };
    return { ok: false, error: { ...error, node_id: cancelled } };
  }
  if (dag.sinks.length === 0) return { ok: true, value: null };
  if (dag.sinks.length === 1)
    return { ok: true, value: outcome.output[dag.sinks[0] as string] ?? null };
  return { ok: true, value: outcome.output };
}

/** True when every member of the region has settled. */
export function isRegionSettled(dag: Dag, states: ReadonlyMap<string, NodeState>): boolean {
  return dag.order.every((id) => isNodeTerminal(states.get(id)?.status ?? 'pending'));
}

/**
 * How many foreach iterations run at once: 1 when sequential, else `max_parallel` within the
 * execution's `max_concurrency` (an iteration holds at least one of its node slots).
 */
export function iterationWidth(options: {
  parallel: boolean;
  maxParallel: number;
  maxConcurrency: number;
}): number {
  if (!options.parallel) return 1;
  return Math.max(1, Math.min(options.maxParallel, options.maxConcurrency));
}

/**
 * What a `return` leaves of the DAG: unstarted nodes are skipped, running ones cancelled.
 */
export function settleAfterReturn(
  dag: Dag,
  states: ReadonlyMap<string, NodeState>,
): { skip: string[]; cancel: string[] } {
  const skip: string[] = [];
  const cancel: string[] = [];
  for (const id of dag.order) {
    const status = states.get(id)?.status ?? 'pending';
    if (status === 'pending') skip.push(id);
    else if (status === 'running') cancel.push(id);
  }
  return { skip, cancel };
}

/** A try node's output: `{ok: true, error: null}` or the caught error. */
export function tryOutput(error: RunError | null): { ok: boolean; error: RunError | null } {
  return { ok: error === null, error };
}
