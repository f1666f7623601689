import type { RunError } from '../errors/error-types.ts';
import type { Dag, InEdge } from '../workflow/dag.ts';

export const NODE_STATUSES = [
  'pending',
  'running',
  'success',
  'failed',
  'skipped',
  'cancelled',
] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export interface NodeState {
  readonly status: NodeStatus;
  readonly output?: unknown;
  readonly error?: RunError | null;
}

export function isNodeTerminal(status: NodeStatus): boolean {
  return status !== 'pending' && status !== 'running';
}

/** What to do next: nodes to start, and nodes settled without running. */
export interface Plan {
  readonly run: readonly string[];
  readonly skip: readonly string[];
  /** Nodes that can never run because an upstream node failed or was cancelled. */
  readonly cancel: readonly string[];
}

type EdgeState = 'taken' | 'untaken' | 'blocked' | 'waiting';

/** The branch a parent took: a router's route name, else a condition's `'true'`/`'false'`. */
function branchOf(output: unknown): string | null {
  if (typeof output !== 'object' || output === null) return 'false';
  if ('route' in output) return typeof output.route === 'string' ? output.route : null;
  return 'result' in output && output.result === true ? 'true' : 'false';
}

function edgeState(edge: InEdge, parent: NodeState | undefined): EdgeState {
  const status = parent?.status ?? 'pending';
  if (status === 'pending' || status === 'running') return 'waiting';
  if (status === 'failed' || status === 'cancelled') return 'blocked';
  if (status === 'skipped') return 'untaken';
  if (edge.when === undefined) return 'taken';
  return branchOf(parent?.output) === edge.when ? 'taken' : 'untaken';
}

function decide(
  edges: readonly InEdge[],
  states: ReadonlyMap<string, NodeState>,
): 'run' | 'skip' | 'cancel' | 'wait' {
  if (edges.length === 0) return 'run';
  const seen = edges.map((e) => edgeState(e, states.get(e.from)));
  if (seen.includes('waiting')) return 'wait';
  if (seen.includes('blocked')) return 'cancel';
  return seen.includes('taken') ? 'run' : 'skip';
}

/**
 * Plans the next step from the node states (missing = pending). A node runs when all
 * its parents are settled and at least one edge into it was taken; it is skipped when
 * no edge was taken (untaken condition branch, or all parents skipped); it is
 * cancelled when a parent failed or was cancelled. Skips cascade within one call.
 */
export function planNextSteps(dag: Dag, states: ReadonlyMap<string, NodeState>): Plan {
  const local = new Map(states);
  const run: string[] = [];
  const skip: string[] = [];
  const cancel: string[] = [];
  for (const id of dag.order) {
    if ((local.get(id)?.status ?? 'pending') !== 'pending') continue;
    const decision = decide(dag.incoming.get(id) ?? [], local);
    if (decision === 'run') run.push(id);
    else if (decision === 'skip') {
      skip.push(id);
      local.set(id, { status: 'skipped' });
    } else if (decision === 'cancel') {
      cancel.push(id);
      local.set(id, { status: 'cancelled' });
    }
  }
  return { run, skip, cancel };
}

/** An execution ended by a `return` node: its value is the execution's output. */
export interface ReturnedOutcome {
  readonly status: 'success';
  readonly returned: true;
  /** The return node. */
  readonly nodeId: string;
  readonly output: unknown;
}

/** The finished execution's result, once every node is settled. */
export type Outcome =
  | { readonly status: 'success'; readonly output: Record<string, unknown> }
  | { readonly status: 'failed'; readonly error: RunError };

/**
 * Summarises a finished DAG: failed when any node failed (the first failed node in
 * topological order names the error); otherwise success with the outputs of the sink
 * nodes that did not skip, keyed by node id. Undefined while a node is unsettled.
 */
export function summarizeOutcome(
  dag: Dag,
  states: ReadonlyMap<string, NodeState>,
): Outcome | undefined {
  if (dag.order.some((id) => !isNodeTerminal(states.get(id)?.status ?? 'pending')))
    return undefined;
  const failed = dag.order.find((id) => states.get(id)?.status === 'failed');
  if (failed !== undefined) {
    const error = states.get(failed)?.error ?? { type: 'UNKNOWN', message: 'node failed' };
    return { status: 'failed', error: { ...error, node_id: failed } };
  }
  const output: Record<string, unknown> = {};
  for (const id of dag.sinks) {
    const state = states.get(id);
    if (state?.status === 'success') output[id] = state.output ?? null;
  }
  return { status: 'success', output };
}
