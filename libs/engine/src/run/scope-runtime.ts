import type { CompiledNode, CompiledWorkflow, NodeState, RunError } from '@linkflow/domain';
import { NodeError, type NodeInput } from '@linkflow/nodes';
import type { Budget } from './budget.ts';
import type { NodeRunnerDeps, NodeRunResult } from './node-runner.ts';
import type { RetainedOutputs } from './output-cap.ts';
import type { Semaphore } from './semaphore.ts';

/** Iteration of a node run outside any foreach (the `node_runs.iteration` default). */
export const NO_ITERATION = -1;

/** A node that settled without running inside a scope (skipped branch, cancelled). */
export interface ScopedSettle {
  readonly status: 'skipped' | 'cancelled';
  readonly error: RunError | null;
}

/**
 * What every scope of one execution shares: the runner deps, the compiled workflow, the
 * budget and retained-output cap, the checkpoints of earlier attempts per iteration, and the
 * callbacks that checkpoint and announce member runs. Scope runners (foreach, try) and the
 * main DAG runner start nodes through `run`, so any node type (a subworkflow too) can sit
 * inside a scope.
 */
export interface ScopeRuntime {
  readonly deps: NodeRunnerDeps;
  readonly workflow: CompiledWorkflow;
  readonly tenantId: string;
  readonly budget: Budget;
  readonly retained: RetainedOutputs | undefined;
  /** Checkpointed states by iteration (`-1`: outside loops), for members of scopes. */
  readonly resumed: ReadonlyMap<number, ReadonlyMap<string, NodeState>>;
  /**
   * Outputs of scope members that succeeded, by iteration: nodes after a try (in the same
   * iteration, or the main DAG for -1) read them as `nodes.<member id>`.
   */
  readonly memberOutputs: Map<number, Record<string, unknown>>;
  /**
   * Checkpoint writes of loop-body sinks still in flight, and those that failed (a lane runs
   * ahead of its writes and learns of a failure one iteration later). A `return` that
   * succeeded waits for them before its own write: a resumed run that finds the return
   * checkpointed ends the execution, so no earlier iteration's result may still be unwritten.
   */
  readonly unsettledWrites: Set<Promise<void>>;
  /**
   * The execution's `max_concurrency` as permits, taken by every node run that is not a scope
   * node (in the main DAG, in try lists, in every iteration): parallel iterations of a body
   * with several nodes stay inside it too. Scope nodes hold none (their members do), so a
   * loop never waits on itself.
   */
  readonly nodeSlots: Semaphore;
  /** A member started (live `running` event). */
  started(nodeId: string, iteration: number): void;
  /** Checkpoints a member's result; resolves before any dependant of it starts. */
  settle(run: {
    nodeId: string;
    iteration: number;
    result: NodeRunResult | ScopedSettle;
  }): Promise<void>;
  /** The run is about to throw: what it aborts now is interrupted, not settled (`onAbandon`). */
  abandon(): void;
  /** A `return` node succeeded: ends the execution with `value`. */
  returned(nodeId: string, value: unknown): void;
  /** Runs one member wherever it sits (`runMember` in member-runner.ts). */
  run(run: MemberRun): Promise<NodeRunResult>;
}

/** One member run: the node, its context, its signal and its iteration. */
export interface MemberRun {
  readonly node: CompiledNode;
  readonly input: NodeInput;
  readonly signal: AbortSignal;
  readonly iteration: number;
}

/** The abort reasons made by {@link returnReason} (a child signal aborts with the same one). */
const RETURN_REASONS = new WeakSet<object>();

/** The abort reason of nodes stopped because a `return` ended the execution. */
export function returnReason(nodeId: string): NodeError {
  const reason = new NodeError(
    'CANCELLATION',
    `cancelled because return node ${nodeId} ended the execution`,
    {
      retryable: false,
    },
  );
  RETURN_REASONS.add(reason);
  return reason;
}

/** Whether `signal` was aborted because a `return` ended the execution (not cancel or timeout). */
export function abortedByReturn(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return (
    signal.aborted && typeof reason === 'object' && reason !== null && RETURN_REASONS.has(reason)
  );
}

/** The BUDGET error of a member that did not start because the budget is spent. */
export function budgetError(nodeId: string, max: string): RunError {
  return {
    type: 'BUDGET',
    message: `node ${nodeId} not started: the execution's cost reached its budget of ${max} USD`,
  };
}

/** Records a member's output for the nodes that come after its scope (same iteration). */
export function recordMemberOutput(
  rt: ScopeRuntime,
  m: { iteration: number; nodeId: string; output: unknown },
): void {
  let outputs = rt.memberOutputs.get(m.iteration);
  if (outputs === undefined) rt.memberOutputs.set(m.iteration, (outputs = {}));
  outputs[m.nodeId] = m.output;
}

/** The member outputs visible in `iteration` (none recorded: empty). */
export const memberOutputsOf = (rt: ScopeRuntime, iteration: number): Record<string, unknown> =>
  rt.memberOutputs.get(iteration) ?? {};
