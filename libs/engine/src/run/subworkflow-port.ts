import type {
  CancelledChild,
  ChildStart,
  ChildStartRequest,
  Fence,
  ParkOutcome,
  SpawnedExecution,
} from '@linkflow/domain';

/**
 * Child executions of `subworkflow` nodes, as the engine needs them (libs/store's
 * `createChildExecutionStore` plus, in the executor, the cancel channel).
 */
export interface ChildExecutionPort {
  /**
   * Starts the child of (parent run, node), or finds the one an earlier attempt started (at
   * most one per parent node and attempt; a node a recover reruns gets a new child when its
   * last one failed or was cancelled). Refuses an unknown target, depth > 5 and recursion.
   */
  start(request: ChildStartRequest): Promise<ChildStart>;
  /**
   * Parks a run whose only unsettled nodes wait on children: no final status, lease
   * released; `child_ended` when a child already ended (the run continues instead),
   * `fenced` when the run lost its claim.
   */
  park(fence: Fence, at: Date): Promise<ParkOutcome>;
  /** Unparks the parent of an execution that just ended; the parent's job request, if any. */
  wakeParent(childId: string): Promise<SpawnedExecution | undefined>;
  /** Cancels the active executions below one that ended (recursively). */
  cancelDescendants(executionId: string, at: Date, reason: string): Promise<CancelledChild[]>;
  /** Ended executions that still have active children (the sweeper cancels them). */
  abandonedParents(limit: number): Promise<string[]>;
  /** Tells executors to abort these running executions now (best effort; leases stop them anyway). */
  signalCancel?(executionIds: readonly string[]): Promise<void>;
}
