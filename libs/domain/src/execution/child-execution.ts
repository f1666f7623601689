import type { RunError } from '../errors/error-types.ts';
import type { SpawnedExecution } from './run-records.ts';
import type { ExecutionStatus } from './state-machine.ts';

/** What a `subworkflow` node asks for: the child of (parent run, node). */
export interface ChildStartRequest {
  /** The parent's claim: the child is created only while the parent is still held by it. */
  readonly parent: { readonly executionId: string; readonly attempt: number };
  readonly nodeId: string;
  readonly workflowId: string;
  /** Pinned version of the target; its latest when undefined. */
  readonly version: number | undefined;
  readonly input: unknown;
  readonly at: Date;
}

/**
 * How starting a child went. `created`: a new pending child (enqueue it); `live`: the child
 * of an earlier attempt still runs; `terminal`: it already ended (the node settles with it);
 * `refused`: the node fails with this VALIDATION error; `fenced`: the parent's run lost its
 * claim (stop, the new holder continues).
 */
export type ChildStart =
  | { readonly kind: 'created'; readonly child: SpawnedExecution }
  | { readonly kind: 'live'; readonly childId: string }
  | { readonly kind: 'terminal'; readonly child: TerminalChild }
  | { readonly kind: 'refused'; readonly error: RunError }
  | { readonly kind: 'fenced' };

/** A child execution that ended: its output or error becomes its parent node's. */
export interface TerminalChild {
  readonly id: string;
  readonly status: Extract<ExecutionStatus, 'success' | 'failed' | 'cancelled'>;
  readonly output: unknown;
  readonly error: RunError | null;
  /** The child's own cost total (decimal string, USD); it stays on the child. */
  readonly cost: string;
}

/** An execution cancelled because its parent ended, and where it was (to signal a running one). */
export interface CancelledChild {
  readonly id: string;
  readonly from: ExecutionStatus;
}

/** How parking a run that waits on children went (see the engine's subworkflow runner). */
export type ParkOutcome = 'parked' | 'child_ended' | 'fenced';
