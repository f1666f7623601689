import type {
  ExecutionStatus,
  LogLevel,
  NodeStatus,
  Priority,
  RunError,
  Transition,
  WorkflowDefinition,
} from '@linkflow/domain';

export interface WorkflowRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly version: number;
  readonly definition: WorkflowDefinition;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NodeRunRecord {
  readonly nodeId: string;
  /** The foreach iteration of a run inside a loop body; undefined outside any loop. */
  readonly iteration?: number;
  readonly type: string;
  readonly status: NodeStatus;
  readonly attempts: number;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  readonly output: unknown;
  readonly outputTruncated: boolean;
  readonly error: RunError | null;
  readonly usage: Record<string, number> | null;
  readonly cost: string;
}

export interface ExecutionRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly workflowId: string;
  readonly workflowVersion: number;
  readonly status: ExecutionStatus;
  readonly priority: Priority;
  readonly inputData: unknown;
  readonly output: unknown;
  readonly error: RunError | null;
  readonly idempotencyKey: string | null;
  readonly timeoutSeconds: number | null;
  readonly attempt: number;
  readonly costTotal: string;
  readonly traceContext: Record<string, string> | null;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

/** An execution with its node runs and transition history (`GET /api/executions/:id`). */
export interface ExecutionDetail extends ExecutionRecord {
  readonly nodeRuns: readonly NodeRunRecord[];
  readonly transitions: readonly Transition[];
}

export interface LogEntry {
  readonly seq: number;
  readonly at: Date;
  readonly level: LogLevel;
  readonly nodeId: string | null;
  readonly message: string;
  readonly data: unknown;
}

/** A page of a keyset-paginated list; `nextCursor` is opaque to clients. */
/** What a live log stream checks: the status, the last stored log seq, when it finished. */
export interface ExecutionStreamState {
  readonly status: ExecutionStatus;
  /** The highest `seq` stored for the execution (0 before the first entry). */
  readonly logSeq: number;
  readonly finishedAt: Date | null;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}
