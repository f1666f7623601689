import {
  isNodeTerminal,
  planNextSteps,
  SUBWORKFLOW_NODE_TYPE,
  type CompiledNode,
  type CompiledWorkflow,
  type NodeState,
  type Outcome,
  type ReturnedOutcome,
} from '@linkflow/domain';
import { NodeError, type NodeInput } from '@linkflow/nodes';
import { childController } from './abortable.ts';
import { Budget } from './budget.ts';
import { runMember } from './member-runner.ts';
import { returnMustWait } from './region-runner.ts';
import type { NodeRunnerDeps, NodeRunResult } from './node-runner.ts';
import {
  finishDag,
  settleWithoutRun,
  stopForBudget,
  type DagRunOutcome,
  type SettledWithoutRun,
} from './dag-finish.ts';

export type { DagRunOutcome, SettledWithoutRun } from './dag-finish.ts';
import { RetainedOutputs } from './output-cap.ts';
import { Semaphore } from './semaphore.ts';
import {
  memberOutputsOf,
  NO_ITERATION,
  returnReason,
  type ScopeRuntime,
  type ScopedSettle,
} from './scope-runtime.ts';
import type { Waiting } from './subworkflow-runner.ts';

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
  readonly spentUnits?: bigint;
  /**
   * Runs `subworkflow` nodes of the main DAG (subworkflow-runner.ts): their result, or
   * `waiting` while the child runs. Without it they run like any node type.
   */
  readonly runSubworkflow?: (
    node: CompiledNode,
    request: { input: NodeInput; signal: AbortSignal },
  ) => Promise<NodeRunResult | Waiting>;
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
   * The run is about to throw (a checkpoint that cannot be written): called before the nodes
   * still in flight are aborted, so their interruption is not recorded as a settled cancel.
   */
  onAbandon?(): void;
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
 * A `return` node that succeeded in an earlier attempt: the run ends with its value again.
 * Returns inside scopes count too (a try list's at -1, a foreach body's at its iteration,
 * lowest first): a crash between their checkpoint and the final write must not let the
 * resumed run go on past them.
 */
function resumedReturn(
  workflow: CompiledWorkflow,
  states: ReadonlyMap<string, NodeState>,
  resumed: ReadonlyMap<number, ReadonlyMap<string, NodeState>> = new Map(),
): ReturnedOutcome | undefined {
  const byIteration = [...resumed.entries()].sort(([a], [b]) => a - b).map(([, s]) => s);
  for (const found of [states, ...byIteration]) {
    for (const [id, state] of found) {
      if (state.status !== 'success' || workflow.nodes.get(id)?.spec.type !== 'return') continue;
      return { status: 'success', returned: true, nodeId: id, output: state.output ?? null };
    }
  }
  return undefined;
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
    unsettledWrites: new Set(),
    nodeSlots: new Semaphore(req.workflow.settings.max_concurrency),
    started: (id, iteration) =>
      iteration === NO_ITERATION ? req.onStarted(id) : req.onStarted(id, iteration),
    settle: (s) => req.onScopedSettled?.(s) ?? req.onSettled(s.nodeId, s.result),
    abandon: () => req.onAbandon?.(),
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
  const waiting = new Set<string>();
  const retained =
    deps.maxRetainedOutputBytes === undefined
      ? undefined
      : new RetainedOutputs(deps.maxRetainedOutputBytes, outputsOf(states));
  let overflow: Outcome | undefined;
  const ledger = new StartLedger(workflow, states);
  const budget = new Budget(workflow.definition, req.spentUnits);
  let returned = resumedReturn(workflow, states, req.resumed);
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
    const input = {
      ...req.context,
      nodes: { ...memberOutputsOf(rt, NO_ITERATION), ...outputsOf(states) },
    };
    const signal = controller.signal;
    const attempt =
      node.spec.type === SUBWORKFLOW_NODE_TYPE && req.runSubworkflow
        ? req.runSubworkflow(node, { input, signal })
        : rt.run({ node, input, signal, iteration: NO_ITERATION });
    const task = attempt.then(async (ran) => {
      if (ran.status === 'waiting') return void waiting.add(id);
      const result: NodeRunResult = ran;
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
        const wait = returnMustWait(rt, id, result);
        if (wait !== undefined) await wait;
        await req.onSettled(id, result, {
          last: !stopped && isLastToSettle(workflow, states, id),
          starting,
        });
      } finally {
        ledger.settling.delete(id);
      }
      states.set(id, state);
      const over = result.status === 'success' ? retained?.add(id, result.outputBytes) : undefined;
      if (over?.status === 'failed' && !controller.signal.aborted) {
        overflow = over;
        controller.abort(new NodeError('EXECUTION', over.error.message, { retryable: false }));
      }
      if (result.status === 'failed' && workflow.settings.fail_fast && !controller.signal.aborted) {
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
    const outcome = await finishDag(req, controller.signal, { returned, waiting });
    return overflow && outcome.status !== 'aborted' ? overflow : outcome;
  } catch (err) {
    // A checkpoint that cannot be written fails the job (BullMQ retries it from the
    // checkpoints); nodes still in flight must not run on unreachable by cancel/timeout, and
    // are interrupted, not settled (`onAbandon`).
    req.onAbandon?.();
    controller.abort(err);
    await Promise.allSettled(running.values());
    throw err;
  } finally {
    dispose();
  }
}
