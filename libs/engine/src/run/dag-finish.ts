import {
  settleAfterReturn,
  summarizeOutcome,
  type CompiledWorkflow,
  type NodeState,
  type Outcome,
  type ReturnedOutcome,
  type RunError,
} from '@linkflow/domain';
import { NodeError } from '@linkflow/nodes';
import type { Budget } from './budget.ts';
import type { NodeRunResult } from './node-runner.ts';

/** A node that settled without running (skipped branch, or cancelled by upstream/abort). */
export interface SettledWithoutRun {
  readonly status: 'skipped' | 'cancelled';
  readonly error: RunError | null;
}

/**
 * How a DAG ended: the outcome, the value of a `return` node, `aborted` (cancel, timeout,
 * hand-over) with the reason, or `waiting` when everything else settled and these
 * subworkflow nodes wait on their children.
 */
export type DagRunOutcome =
  | Outcome
  | ReturnedOutcome
  | { readonly status: 'aborted'; readonly reason: unknown }
  | { readonly status: 'waiting'; readonly nodeIds: readonly string[] };

/** What settling a run's leftovers needs of its request (see `DagRunRequest`). */
export interface FinishRequest {
  readonly workflow: CompiledWorkflow;
  readonly states: Map<string, NodeState>;
  readonly signal: AbortSignal;
  onSettled(nodeId: string, result: NodeRunResult | SettledWithoutRun): Promise<void>;
}

/** Records `ids` settled without running, each checkpointed. */
export async function settleWithoutRun(
  req: FinishRequest,
  ids: readonly string[],
  status: 'skipped' | 'cancelled',
  error: RunError | null = null,
): Promise<void> {
  for (const id of ids) req.states.set(id, { status, error });
  await Promise.all(ids.map((id) => req.onSettled(id, { status, error })));
}

/**
 * The budget is spent and `nodeId` would start: nothing starts any more, running siblings
 * are cancelled (like fail_fast) and unstarted nodes end `cancelled` with the BUDGET error.
 */
export function stopForBudget(
  controller: AbortController,
  budget: Budget,
  at: { workflow: CompiledWorkflow; nodeId: string },
): Outcome {
  const outcome = budget.stop(at.nodeId, at.workflow.definition.settings?.max_cost ?? '0');
  const message = outcome.status === 'failed' ? outcome.error.message : 'budget reached';
  controller.abort(new NodeError('BUDGET', message, { retryable: false }));
  return outcome;
}

/**
 * Settles what the run leaves: after a `return`, the nodes it never reached are skipped and
 * waiting subworkflow nodes cancelled; after an abort, unstarted nodes are cancelled (with
 * BUDGET when the budget stopped it), and so are waiting nodes unless the run as a whole
 * stops (hand-over or cancel: their children live on). Otherwise the DAG's outcome, or
 * `waiting` while subworkflow nodes wait on their children.
 */
export async function finishDag(
  req: FinishRequest,
  signal: AbortSignal,
  ended: { returned: ReturnedOutcome | undefined; waiting: ReadonlySet<string> },
): Promise<DagRunOutcome> {
  const { returned, waiting } = ended;
  if (returned) {
    // Running nodes were cancelled by the return's abort and have settled; the rest skip.
    await settleWithoutRun(req, settleAfterReturn(req.workflow.dag, req.states).skip, 'skipped');
    const message = `not needed: node ${returned.nodeId} returned`;
    await settleWithoutRun(req, [...waiting], 'cancelled', { type: 'CANCELLATION', message });
    return req.signal.aborted ? { status: 'aborted', reason: req.signal.reason } : returned;
  }
  const unsettled = req.workflow.dag.order.filter(
    (id) =>
      (req.states.get(id)?.status ?? 'pending') === 'pending' ||
      (signal.aborted && !req.signal.aborted && waiting.has(id)),
  );
  if (signal.aborted && unsettled.length > 0) {
    const reason: unknown = signal.reason;
    const message = reason instanceof Error ? reason.message : 'execution stopped';
    const type =
      reason instanceof NodeError && reason.type === 'BUDGET' ? 'BUDGET' : 'CANCELLATION';
    await settleWithoutRun(req, unsettled, 'cancelled', { type, message });
  }
  if (req.signal.aborted) return { status: 'aborted', reason: req.signal.reason };
  if (waiting.size > 0 && !signal.aborted) return { status: 'waiting', nodeIds: [...waiting] };
  const outcome = summarizeOutcome(req.workflow.dag, req.states) ?? {
    status: 'failed',
    error: { type: 'UNKNOWN', message: 'execution ended with unsettled nodes' },
  };
  return outcome.status === 'success' ? failOnCancelledNode(req, outcome) : outcome;
}

/**
 * A node can end `cancelled` while the execution itself was not stopped (its client was
 * closed under it, it threw a CANCELLATION error): that node never produced its result, so
 * the execution must not report success without it.
 */
function failOnCancelledNode(req: FinishRequest, outcome: Outcome): Outcome {
  const id = req.workflow.dag.order.find((n) => req.states.get(n)?.status === 'cancelled');
  if (id === undefined) return outcome;
  const error = req.states.get(id)?.error ?? { type: 'CANCELLATION', message: 'node cancelled' };
  return { status: 'failed', error: { ...error, node_id: id } };
}
