import {
  isNodeTerminal,
  planNextSteps,
  settleAfterReturn,
  summarizeOutcome,
  type CompiledWorkflow,
  type NodeState,
  type Outcome,
  type ReturnedOutcome,
  type RunError,
} from '@linkflow/domain';
import { NodeError, type NodeInput } from '@linkflow/nodes';
import { childController } from './abortable.ts';
import { Budget } from './budget.ts';
import { runMember } from './member-runner.ts';
import type { NodeRunnerDeps, NodeRunResult } from './node-runner.ts';
import { RetainedOutputs } from './output-cap.ts';
import {
  memberOutputsOf,
  NO_ITERATION,
  returnReason,
  type ScopeRuntime,
  type ScopedSettle,
} from './scope-runtime.ts';

/** A node that settled without running (skipped branch, or cancelled by upstream/abort). */
export interface SettledWithoutRun {
  readonly status: 'skipped' | 'cancelled';
  readonly error: RunError | null;
}

/** One execution's DAG as {@link runDag} drives it. */
export interface DagRunRequest {
  readonly workflow: CompiledWorkflow;
  /** Checkpointed states (resumed nodes); updated in place as nodes settle. */
  readonly states: Map<string, NodeState>;
  readonly context: Omit<NodeInput, 'nodes'>;
  /** The execution's tenant, passed to every node as `ctx.tenantId`. */
  readonly tenantId: string;
  /** Aborts on cancel, execution timeout or a lost lease. */
  readonly signal: AbortSignal;
  /** What the checkpointed nodes (`states`) already cost, in 1e-8 USD units (`max_cost`). */
  readonly spentUnits?: number;
  /**
   * Checkpointed states of earlier attempts by foreach iteration (`-1`: outside loops), for the
   * members of scopes (foreach bodies, try lists).
   */
  readonly resumed?: ReadonlyMap<number, ReadonlyMap<string, NodeState>>;
  /** A node started (for live events); `iteration` for a run inside a foreach body. */
  onStarted(nodeId: string, iteration?: number): void;
  /**
   * Checkpoints a scope member (a foreach iteration's node, a try list's node); must resolve
   * before any dependant starts. Without it members go through `onSettled`.
   */
  onScopedSettled?(run: {
    nodeId: string;
    iteration: number;
    result: NodeRunResult | ScopedSettle;
  }): Promise<void>;
  /**
   * Nodes that start without a checkpoint (or the claim, for roots) having recorded them
   * `running`: nodes ready at a resume, or made ready by a skipped branch.
   */
  onUnannounced?(nodeIds: readonly string[]): void;
  /**
   * Checkpoints a node; must resolve before any dependant starts. `last` is true when the
   * node is a sink and every other node has settled: nothing can depend on or run beside
   * it, so its write may ride with the execution's final status.
   */
  onSettled(
    nodeId: string,
    result: NodeRunResult | SettledWithoutRun,
    next?: SettleNext,
  ): Promise<void>;
}

/** What follows a node's settlement, known before its checkpoint is written. */
export interface SettleNext {
  /** Nothing depends on or runs beside the node: its write may ride the final status. */
  readonly last: boolean;
  /** The foreach iteration of a scope member's run (absent or -1 outside loops). */
  readonly iteration?: number;
  /**
   * Nodes this settlement makes ready and that will start next (within `max_concurrency`):
   * the checkpoint records them `running` in the same statement.
   */
  readonly starting: readonly string[];
}

/**
 * How a DAG ended: the outcome, the value of a `return` node, or `aborted` (cancel, timeout,
 * hand-over) with the reason.
 */
export type DagRunOutcome =
  Outcome | ReturnedOutcome | { readonly status: 'aborted'; readonly reason: unknown };

/** A `return` node that succeeded in an earlier attempt: the run ends with its value again. */
function resumedReturn(
  workflow: CompiledWorkflow,
  states: ReadonlyMap<string, NodeState>,
): ReturnedOutcome | undefined {
  const id = workflow.dag.order.find(
    (n) => workflow.nodes.get(n)?.spec.type === 'return' && states.get(n)?.status === 'success',
  );
  if (id === undefined) return undefined;
  return { status: 'success', returned: true, nodeId: id, output: states.get(id)?.output ?? null };
}

/** The runtime the scopes of this run share (see {@link ScopeRuntime}). */
function scopeRuntime(
  deps: NodeRunnerDeps,
  req: DagRunRequest,
  run: Pick<ScopeRuntime, 'budget' | 'retained' | 'returned'>,
): ScopeRuntime {
  const rt: ScopeRuntime = {
    ...run,
    deps,
    workflow: req.workflow,
    tenantId: req.tenantId,
    resumed: req.resumed ?? new Map(),
    memberOutputs: new Map(),
    started: (id, iteration) =>
      iteration === NO_ITERATION ? req.onStarted(id) : req.onStarted(id, iteration),
    settle: (s) => req.onScopedSettled?.(s) ?? req.onSettled(s.nodeId, s.result),
    run: (member) => runMember(rt, member),
  };
  return rt;
}

function outputsOf(states: ReadonlyMap<string, NodeState>): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  for (const [id, state] of states) if (state.status === 'success') nodes[id] = state.output;
  return nodes;
}

/** A sink whose siblings have all settled: the DAG ends with it. */
function isLastToSettle(
  workflow: CompiledWorkflow,
  states: ReadonlyMap<string, NodeState>,
  id: string,
): boolean {
  if ((workflow.dag.outgoing.get(id)?.length ?? 0) > 0) return false;
  return workflow.dag.order.every(
    (other) => other === id || isNodeTerminal(states.get(other)?.status ?? 'pending'),
  );
}

async function settleWithoutRun(
  req: DagRunRequest,
  ids: readonly string[],
  status: 'skipped' | 'cancelled',
  error: RunError | null,
): Promise<void> {
  for (const id of ids) req.states.set(id, { status, error });
  await Promise.all(ids.map((id) => req.onSettled(id, { status, error })));
}

/**
 * Which started nodes a checkpoint or the claim recorded `running`, and the results of nodes
 * whose checkpoints are being written. A node's checkpoint announces the nodes it makes
 * ready; with two parents settling at once, the second one's projection sees the first's
 * result (`settling`), so their common child is announced too.
 */
class StartLedger {
  readonly settling = new Map<string, NodeState>();
  private readonly announced: Set<string>;
  /** Announced but not started yet: they take capacity in later projections. */
  private readonly waiting = new Set<string>();

  constructor(workflow: CompiledWorkflow, states: ReadonlyMap<string, NodeState>) {
    // The claim records the first `max_concurrency` roots not settled yet (definition order):
    // they take capacity until they start. Later roots are marked as they start.
    const { dag, settings } = workflow;
    const roots = dag.order
      .filter((id) => (dag.incoming.get(id)?.length ?? 0) === 0)
      .filter((id) => !isNodeTerminal(states.get(id)?.status ?? 'pending'))
      .slice(0, settings.max_concurrency);
    this.announced = new Set(roots);
    for (const id of roots) this.waiting.add(id);
  }

  announce(ids: readonly string[]): void {
    for (const id of ids) {
      this.announced.add(id);
      this.waiting.add(id);
    }
  }

  /** Marks `ids` started; returns those nobody announced. */
  started(ids: readonly string[]): string[] {
    for (const id of ids) this.waiting.delete(id);
    return ids.filter((id) => !this.announced.has(id));
  }

  /** The nodes that become ready once `id` settles with `result`, within the free capacity. */
  startingAfter(
    workflow: CompiledWorkflow,
    states: ReadonlyMap<string, NodeState>,
    settled: { id: string; result: NodeRunResult; running: number; budgetReached: boolean },
  ): string[] {
    const { id, result } = settled;
    if (settled.budgetReached) return [];
    if (result.status === 'failed' && workflow.settings.fail_fast) return [];
    const projected = new Map(states);
    for (const [other, state] of this.settling) projected.set(other, state);
    projected.set(id, { status: result.status, output: result.output, error: result.error });
    const busy = settled.running - this.settling.size - 1 + this.waiting.size;
    const capacity = Math.max(workflow.settings.max_concurrency - busy, 0);
    const ready = planNextSteps(workflow.dag, projected).run;
    return ready.filter((n) => !this.announced.has(n)).slice(0, capacity);
  }
}

/**
 * Drives one execution's DAG: starts every ready node (up to `max_concurrency`),
 * checkpoints each result before re-planning, settles skipped branches, and on
 * `fail_fast` aborts running siblings when a node fails. When the signal aborts, running
 * nodes are cancelled and unstarted nodes are recorded as cancelled.
 */
export async function runDag(deps: NodeRunnerDeps, req: DagRunRequest): Promise<DagRunOutcome> {
  const { controller, dispose } = childController(req.signal);
  const { workflow, states } = req;
  const running = new Map<string, Promise<void>>();
  const retained =
    deps.maxRetainedOutputBytes === undefined
      ? undefined
      : new RetainedOutputs(deps.maxRetainedOutputBytes, outputsOf(states));
  let overflow: Outcome | undefined;
  const ledger = new StartLedger(workflow, states);
  const budget = new Budget(workflow.definition, req.spentUnits);
  let returned = resumedReturn(workflow, states);
  if (returned) controller.abort(returnReason(returned.nodeId));
  const rt = scopeRuntime(deps, req, {
    budget,
    retained,
    returned: (nodeId, output) => {
      if (returned || controller.signal.aborted) return;
      returned = { status: 'success', returned: true, nodeId, output };
      controller.abort(returnReason(nodeId));
    },
  });
  const start = (id: string) => {
    const node = workflow.nodes.get(id);
    if (!node) return;
    states.set(id, { status: 'running' });
    req.onStarted(id);
    const task = rt
      .run({
        node,
        input: {
          ...req.context,
          nodes: { ...memberOutputsOf(rt, NO_ITERATION), ...outputsOf(states) },
        },
        signal: controller.signal,
        iteration: NO_ITERATION,
      })
      .then(async (result) => {
        budget.charge(result.cost);
        const stopped = controller.signal.aborted;
        const starting = stopped
          ? []
          : ledger.startingAfter(workflow, states, {
              ...{ id, result, running: running.size },
              budgetReached: budget.reached,
            });
        const state = { status: result.status, output: result.output, error: result.error };
        ledger.settling.set(id, state);
        ledger.announce(starting);
        try {
          await req.onSettled(id, result, {
            last: !stopped && isLastToSettle(workflow, states, id),
            starting,
          });
        } finally {
          ledger.settling.delete(id);
        }
        states.set(id, state);
        const over =
          result.status === 'success' ? retained?.add(id, result.outputBytes) : undefined;
        if (over?.status === 'failed' && !controller.signal.aborted) {
          overflow = over;
          controller.abort(new NodeError('EXECUTION', over.error.message, { retryable: false }));
        }
        if (
          result.status === 'failed' &&
          workflow.settings.fail_fast &&
          !controller.signal.aborted
        ) {
          controller.abort(
            new NodeError('CANCELLATION', `cancelled because node ${id} failed (fail_fast)`, {
              retryable: false,
            }),
          );
        }
      });
    running.set(
      id,
      task.finally(() => running.delete(id)),
    );
  };
  try {
    for (;;) {
      if (controller.signal.aborted) break;
      const plan = planNextSteps(workflow.dag, states);
      await settleWithoutRun(req, plan.skip, 'skipped', null);
      await settleWithoutRun(req, plan.cancel, 'cancelled', {
        type: 'CANCELLATION',
        message: 'not run because an upstream node failed',
      });
      const capacity = workflow.settings.max_concurrency - running.size;
      const starting = plan.run.slice(0, Math.max(capacity, 0));
      if (starting.length > 0 && budget.reached) {
        overflow = stopForBudget(controller, budget, { workflow, nodeId: starting[0] as string });
        break;
      }
      const unannounced = ledger.started(starting);
      if (unannounced.length > 0) req.onUnannounced?.(unannounced);
      starting.forEach(start);
      if (running.size === 0 && plan.skip.length === 0 && plan.cancel.length === 0) break;
      if (running.size > 0) await Promise.race(running.values());
    }
    await Promise.all(running.values());
    const outcome = await finishDag(req, controller.signal, returned);
    return overflow && outcome.status !== 'aborted' ? overflow : outcome;
  } catch (err) {
    // A checkpoint that cannot be written fails the job (BullMQ retries it from the
    // checkpoints); nodes still in flight must not run on unreachable by cancel/timeout.
    controller.abort(err);
    await Promise.allSettled(running.values());
    throw err;
  } finally {
    dispose();
  }
}

/**
 * The budget is spent and `nodeId` would start: nothing starts any more, running siblings
 * are cancelled (like fail_fast) and unstarted nodes end `cancelled` with the BUDGET error.
 */
function stopForBudget(
  controller: AbortController,
  budget: Budget,
  at: { workflow: CompiledWorkflow; nodeId: string },
): Outcome {
  const outcome = budget.stop(at.nodeId, at.workflow.definition.settings?.max_cost ?? '0');
  const message = outcome.status === 'failed' ? outcome.error.message : 'budget reached';
  controller.abort(new NodeError('BUDGET', message, { retryable: false }));
  return outcome;
}

async function finishDag(
  req: DagRunRequest,
  signal: AbortSignal,
  returned: ReturnedOutcome | undefined,
): Promise<DagRunOutcome> {
  if (returned) {
    // Running nodes were cancelled by the return's abort and have settled; the rest skip.
    await settleWithoutRun(
      req,
      settleAfterReturn(req.workflow.dag, req.states).skip,
      'skipped',
      null,
    );
    return req.signal.aborted ? { status: 'aborted', reason: req.signal.reason } : returned;
  }
  const unsettled = req.workflow.dag.order.filter(
    (id) => (req.states.get(id)?.status ?? 'pending') === 'pending',
  );
  if (signal.aborted && unsettled.length > 0) {
    const reason: unknown = signal.reason;
    const message = reason instanceof Error ? reason.message : 'execution stopped';
    const type =
      reason instanceof NodeError && reason.type === 'BUDGET' ? 'BUDGET' : 'CANCELLATION';
    await settleWithoutRun(req, unsettled, 'cancelled', { type, message });
  }
  if (req.signal.aborted) return { status: 'aborted', reason: req.signal.reason };
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
function failOnCancelledNode(req: DagRunRequest, outcome: Outcome): Outcome {
  const id = req.workflow.dag.order.find((n) => req.states.get(n)?.status === 'cancelled');
  if (id === undefined) return outcome;
  const error = req.states.get(id)?.error ?? { type: 'CANCELLATION', message: 'node cancelled' };
  return { status: 'failed', error: { ...error, node_id: id } };
}
