import type {
  ClaimOutcome,
  ExecutionState,
  ExecutionStatus,
  Fence,
  FinishOutcome,
  FinishRequest,
  LeaseRenewal,
  NewLogEntry,
  NodeRunWrite,
  NodeStart,
  OrphanCursor,
  OrphanExecution,
  Priority,
  ResolvedSecrets,
  SecretRef,
} from '@linkflow/domain';

/*
 * The engine's ports: everything it needs from Postgres, Redis and the process, as
 * interfaces it owns. The executor app wires them to libs/store, libs/queue and
 * libs/telemetry; tests wire them to fakes or to the real store. (The clock is the domain's
 * `Clock`; live events are `RunEvents` in run/run-events.ts.)
 */

/**
 * Persistence of the runs this worker claims. Every write is fenced by (execution id,
 * attempt): a worker that lost its claim writes nothing, and learns so from the answer.
 */
export interface RunStorePort {
  /**
   * Takes an execution for this worker: pending → running, or re-takes a running one
   * (attempt + 1, fencing the previous holder out), and leases it.
   */
  claim(executionId: string, at: Date): Promise<ClaimOutcome>;
  /**
   * Writes a node run and its log lines atomically while the execution is in one of
   * `whileStatus` (default: claimed). The lines' seqs, or undefined when fenced out.
   */
  checkpoint(
    fence: Fence,
    run: NodeRunWrite,
    logs?: readonly NewLogEntry[],
    whileStatus?: readonly ExecutionStatus[],
  ): Promise<number[] | undefined>;
  /**
   * Records nodes `running` that start without a checkpoint having announced them (fenced;
   * a node that settled meanwhile is left alone).
   */
  markStarted(fence: Fence, starts: readonly NodeStart[], at: Date): Promise<void>;
  /** Appends execution-level log lines (fenced on the attempt); undefined when fenced out. */
  appendLogs(fence: Fence, logs: readonly NewLogEntry[]): Promise<number[] | undefined>;
  /** The final status write (fenced); undefined when fenced out. */
  finish(fence: Fence, request: FinishRequest): Promise<FinishOutcome | undefined>;
  /** Ends a non-terminal execution `failed` because its job was dead-lettered. */
  markDead(executionId: string, reason: string, at: Date): Promise<boolean>;
  /** Current status, attempt and timeout (for fence checks and control signals). */
  readState(executionId: string): Promise<ExecutionState | undefined>;
  /**
   * Whether an error from these calls means "the store is briefly unreachable, try again"
   * (the adapter judges by its driver's error classes and codes, never by message text).
   */
  readonly isTransient: (err: unknown) => boolean;
}

/** Execution leases: renewed while a run lasts, released on hand-over, swept when expired. */
export interface LeasePort {
  /**
   * Renews every fence's lease at once; returns those renewed, with the execution's current
   * timeout, and those that could not be renewed.
   */
  renew(fences: readonly Fence[]): Promise<LeaseRenewal>;
  /** Ends a held lease now (fenced): the run stopped here and may continue elsewhere. */
  release(fence: Fence): Promise<void>;
  /** Non-terminal executions nobody holds, oldest first, `limit` after `after`. */
  orphans(options: {
    pendingGraceMs: number;
    limit: number;
    after?: OrphanCursor | undefined;
  }): Promise<OrphanExecution[]>;
}

/** A structured log call: fields first (an error under `err`), then a constant message. */
export interface LogFn {
  (fields: object, message: string): void;
  (message: string): void;
}

/** The logger the engine writes to (pino's `Logger` fits). */
export interface EngineLogger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): EngineLogger;
  /** Whether lines of `level` are written (pino's): hot paths skip building a disabled line. */
  isLevelEnabled?(level: string): boolean;
}

/** Where dead-lettered executions are recorded for an operator (the DLQ). */
export interface DeadLetterSink {
  /** Idempotent per execution (the first entry and reason are kept). */
  add(executionId: string, reason: string): Promise<unknown>;
}

/** What the queue says about an execution's job. */
export type JobStanding =
  /** Waiting, delayed or being processed: some worker will (or does) run it. */
  | { readonly kind: 'live' }
  /** Failed for good, with the queue's reason and when it failed (where the queue knows). */
  | { readonly kind: 'failed'; readonly reason: string | undefined; readonly failedAt?: Date }
  /** No job, or one that finished: nothing will run the execution unless it is requeued. */
  | { readonly kind: 'none' };

/** The queue as the sweeper sees it. */
export interface JobQueuePort {
  /**
   * The standing of an execution's job (in the queue of its workflow's `worker_tags`).
   * @throws AppError `QUEUE_UNAVAILABLE` when the queue does not answer (the pass stops).
   */
  standing(executionId: string, workerTags: readonly string[]): Promise<JobStanding>;
  /**
   * Enqueues an execution again unless it has a live job; true when a job was added.
   * @throws AppError `QUEUE_UNAVAILABLE` when the queue does not answer (the pass stops).
   */
  requeue(request: {
    executionId: string;
    tenantId: string;
    priority: Priority;
    /** Routes the job to the queue of executors that carry every one of these tags. */
    workerTags: readonly string[];
  }): Promise<boolean>;
}

/** A fleet-wide lock: only the process holding it sweeps. */
/** Deletes what retention no longer keeps: node runs and logs of old terminal executions. */
export interface RetentionPort {
  /** One batch of at most `limit` executions that finished before `before`. */
  purge(request: {
    before: Date;
    limit: number;
    deleteExecutions: boolean;
  }): Promise<{ executions: number; nodeRuns: number; logs: number }>;
}

export interface SweepLock {
  /** Takes or keeps the lock; false when another process holds it. */
  hold(): Promise<boolean>;
  release(): Promise<void>;
}

/** How a traced unit of work (an execution run, a node attempt) ended. */
export interface SpanOutcome {
  /**
   * `success`, `failed` (marks the span an error), `cancelled`, or for an execution run
   * `handed_over` (stopped without a final status; another worker continues it).
   */
  readonly status: string;
  /** The error type (`TIMEOUT`, `CONNECTIVITY`, …) when it failed or was cancelled. */
  readonly errorType?: string | undefined;
  /** The error message, already redacted by the engine. */
  readonly errorMessage?: string | undefined;
  /** What the unit cost in USD (a node attempt: its own wall time and usage; a run: its nodes). */
  readonly costUsd?: number | undefined;
}

/** A span the engine started; ended exactly once. */
export interface TraceSpan {
  /**
   * Runs `fn` with this span as the active context, so spans started inside it (node attempts
   * under a run; the http/pg client spans of a node's own calls under its attempt) are its
   * children and log lines written inside carry its trace id.
   */
  within<T>(fn: () => T): T;
  end(outcome: SpanOutcome): void;
  /** False when nothing records the span: the outcome is then not worth computing. */
  readonly recording?: boolean;
}

/** The execution run a span stands for (one claim of an execution). */
export interface ExecutionSpanInfo {
  readonly executionId: string;
  readonly tenantId: string;
  readonly workflowId: string;
  readonly workflowVersion: number;
  /** The claim's fencing attempt: 1 for a fresh start, more for a resumed execution. */
  readonly attempt: number;
  /** True when the run resumes from checkpoints (after a crash, a hand-over or recover). */
  readonly resumed: boolean;
}

/** The node attempt a span stands for. */
export interface NodeAttemptSpanInfo {
  readonly executionId: string;
  readonly nodeId: string;
  readonly nodeType: string;
  /** 1 for the first try, 2 for the first retry, … */
  readonly attempt: number;
}

/**
 * Tracing as the engine needs it (the executor wires it to OpenTelemetry; tests to a fake).
 * Each span's parent is the active one where it starts: a run's span continues the context
 * the job carried (the API request's trace), and a node attempt's span is a child of its run's
 * span because the DAG runs {@link TraceSpan.within} it.
 */
export interface TracingPort {
  startExecution(info: ExecutionSpanInfo): TraceSpan;
  startNodeAttempt(info: NodeAttemptSpanInfo): TraceSpan;
}

/** How a credential resolution ended: the values, or what is wrong (no value in the message). */
export type CredentialOutcome =
  | { readonly ok: true; readonly secrets: ResolvedSecrets }
  | { readonly ok: false; readonly problem: string };

/** The tenant's credentials as the node runner resolves them (decrypted, uses counted). */
export interface CredentialPort {
  /**
   * The values `refs` name, each use counted. A missing credential or key, no key configured
   * or one that does not open the value is `{ok: false, problem}`; it throws only when the
   * store fails.
   */
  resolve(tenantId: string, refs: readonly SecretRef[]): Promise<CredentialOutcome>;
  /** Whether a thrown error means the store is briefly unreachable (the node retries). */
  readonly isTransient: (err: unknown) => boolean;
}
