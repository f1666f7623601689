import type { RunError } from '../errors/error-types.ts';
import type { WorkflowDefinition } from '../workflow/definition-schema.ts';
import type { LogLevel } from './log-level.ts';
import type { NodeStatus } from './plan.ts';
import type { Priority } from './priority.ts';
import type { ExecutionStatus } from './state-machine.ts';

/*
 * The records a worker's run store hands the engine and takes back from it. Plain types:
 * the store (libs/store) produces and persists them, the engine (libs/engine) consumes and
 * builds them, and neither imports the other.
 */

/** The fencing token of one worker's hold on an execution: stale holders match no row. */
export interface Fence {
  readonly executionId: string;
  readonly attempt: number;
}

/** A node run stored by an earlier attempt, as a resumed run reads it back. */
export interface Checkpoint {
  readonly nodeId: string;
  /** The foreach iteration of the run; -1 (or absent) outside any loop. */
  readonly iteration?: number;
  readonly status: NodeStatus;
  readonly output: unknown;
  readonly error: RunError | null;
  readonly attempts: number;
  /** Its cost (USD decimal string); absent from stores that do not track it (counts as 0). */
  readonly cost?: string;
}

/** What a worker gets when it claims an execution. */
export interface ClaimedExecution {
  readonly fence: Fence;
  readonly tenantId: string;
  readonly workflowId: string;
  readonly workflowVersion: number;
  readonly definition: WorkflowDefinition;
  readonly inputData: unknown;
  readonly previousStatus: ExecutionStatus;
  /** Put back to pending by a recover (it ran, or was dead-lettered, before). */
  readonly recovered: boolean;
  /** The execution whose subworkflow node started this one (null for a top-level execution). */
  readonly parentExecutionId: string | null;
  readonly priority: string;
  readonly timeoutSeconds: number | null;
  readonly createdAt: Date;
  readonly startedAt: Date;
  /** Node runs stored by earlier attempts (empty for a fresh start). */
  readonly checkpoints: readonly Checkpoint[];
}

/** A claim: the execution, or the status that kept it from being claimed (null: no such execution). */
export type ClaimOutcome =
  | { readonly claimed: true; readonly execution: ClaimedExecution }
  | { readonly claimed: false; readonly status: ExecutionStatus | null };

/** A log line to append to an execution's log (the store numbers it). */
export interface NewLogEntry {
  readonly at: Date;
  readonly level: LogLevel;
  readonly nodeId: string | null;
  readonly message: string;
  readonly data?: unknown;
}

/** A settled node run as the executor checkpoints it. */
export interface NodeRunWrite {
  readonly nodeId: string;
  /** The foreach iteration (item index) of the run; -1 or absent outside any loop. */
  readonly iteration?: number;
  readonly type: string;
  readonly status: NodeStatus;
  readonly attempts: number;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  /** The output already serialised as JSON (the executor serialises once to measure it). */
  readonly outputJson: string | null;
  readonly outputBytes: number;
  readonly error: RunError | null;
  readonly attemptLog: readonly unknown[];
  readonly usage: Readonly<Record<string, number>> | null;
  readonly cost: string;
  /**
   * Nodes this settlement makes ready: recorded `running` (attempt 1, started now) in the
   * same statement, so an in-flight node is visible without a commit of its own.
   */
  readonly starting?: readonly NodeStart[];
}

/** A node about to start, recorded `running`. */
export interface NodeStart {
  readonly nodeId: string;
  readonly type: string;
}

/** The final write of a run: its status, output or error, and the last log lines. */
export interface FinishRequest {
  readonly status: 'success' | 'failed';
  readonly output: unknown;
  readonly error: RunError | null;
  readonly at: Date;
  readonly reason: string;
  readonly logs?: readonly NewLogEntry[];
  /**
   * The last node's checkpoint, written in the same transaction as the final status (one
   * commit instead of two). Only for a node nothing depends on and nothing runs beside.
   */
  readonly lastNode?: { readonly run: NodeRunWrite; readonly logs: readonly NewLogEntry[] };
}

/** Log seqs of a successful final write (its own lines, and the carried node's). */
export interface FinishOutcome {
  readonly seqs: number[];
  readonly nodeSeqs: number[];
  /** The error workflow's execution the write started (`pending`, to be enqueued). */
  readonly errorExecution?: SpawnedExecution;
}

/** An execution a final write created (an error workflow's run), for the queue. */
export interface SpawnedExecution {
  readonly executionId: string;
  readonly tenantId: string;
  readonly priority: Priority;
  readonly workerTags: readonly string[];
}

/** What a fence check or a control signal reads back about an execution. */
export interface ExecutionState {
  readonly status: ExecutionStatus;
  readonly attempt: number;
  readonly timeoutSeconds: number | null;
}

/** A run whose lease could not be renewed, and what the execution looks like now. */
export interface LostLease {
  readonly fence: Fence;
  /** Current status, or null when the execution no longer exists. */
  readonly status: ExecutionStatus | null;
  /** Current attempt (higher than the fence's when another worker took it over). */
  readonly attempt: number | null;
}

/** A run whose lease was renewed, with the execution's current timeout. */
export interface HeldLease {
  readonly fence: Fence;
  /** `timeout_seconds` now (null: the workflow's own timeout applies). */
  readonly timeoutSeconds: number | null;
}

/** What one lease renewal found: the runs still held (renewed) and those lost. */
export interface LeaseRenewal {
  readonly held: readonly HeldLease[];
  readonly lost: readonly LostLease[];
}

/** A non-terminal execution that no worker holds (a sweeper candidate). */
export interface OrphanExecution {
  readonly id: string;
  readonly tenantId: string;
  readonly priority: Priority;
  readonly status: 'pending' | 'running';
  readonly createdAt: Date;
  /** `settings.worker_tags` of its pinned workflow version: which queue its job belongs in. */
  readonly workerTags: readonly string[];
  /** Last change of the row (a claim, a recover, a timeout change). */
  readonly updatedAt: Date;
}

/** Keyset position when paging through {@link OrphanExecution}s. */
export interface OrphanCursor {
  readonly createdAt: Date;
  readonly id: string;
}
