import { NodeError } from '@linkflow/nodes';
import type { Fence } from '@linkflow/domain';

/**
 * Why a run stopped before its DAG finished. `cancel` and `timeout` end the execution;
 * `lease_lost` (another worker holds it now) and `shutdown` (this executor is going away)
 * leave it non-terminal for another worker to continue.
 */
export type StopKind = 'cancel' | 'timeout' | 'lease_lost' | 'shutdown';

/** Stops after which the execution continues elsewhere: nothing final is written here. */
export function isHandOver(kind: StopKind | undefined): boolean {
  return kind === 'lease_lost' || kind === 'shutdown';
}

const REASONS: Record<StopKind, (detail: string) => NodeError> = {
  cancel: () => new NodeError('CANCELLATION', 'execution was cancelled', { retryable: false }),
  timeout: (detail) =>
    new NodeError('TIMEOUT', `execution exceeded its timeout of ${detail}`, { retryable: false }),
  lease_lost: () =>
    new NodeError('CANCELLATION', 'execution was taken over by another worker', {
      retryable: false,
    }),
  shutdown: () =>
    new NodeError('CANCELLATION', 'executor shutting down; the execution resumes elsewhere', {
      retryable: false,
    }),
};

/**
 * The live handle of one running execution in this process: its abort controller, the
 * reason it stopped (first one wins) and its deadline timer.
 */
export class RunHandle {
  readonly controller = new AbortController();
  private kind: StopKind | undefined;
  private timer: NodeJS.Timeout | undefined;

  get stopKind(): StopKind | undefined {
    return this.kind;
  }

  /** Whether {@link abandon} was called. */
  get abandoned(): boolean {
    return this.wasAbandoned;
  }

  private wasAbandoned = false;

  /**
   * The run is failing with an error (a checkpoint that cannot be written) and its job will
   * be retried from the checkpoints: the nodes still in flight are interrupted, not settled.
   */
  abandon(): void {
    this.wasAbandoned = true;
  }

  stop(kind: StopKind, detail = ''): void {
    if (this.kind !== undefined) return;
    this.kind = kind;
    this.clearDeadline();
    this.controller.abort(REASONS[kind](detail));
  }

  /** (Re)arms the execution deadline; `timeoutMs` undefined means no deadline. */
  armDeadline(startedAt: Date, timeoutMs: number | undefined, now: Date): void {
    this.clearDeadline();
    if (timeoutMs === undefined) return;
    const remaining = startedAt.getTime() + timeoutMs - now.getTime();
    const detail = `${timeoutMs / 1000} s`;
    if (remaining <= 0) this.stop('timeout', detail);
    else this.timer = setTimeout(() => this.stop('timeout', detail), remaining);
  }

  clearDeadline(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** One run in the {@link RunTable}. */
export interface RunEntry {
  readonly handle: RunHandle;
  /** The claim this run holds (its lease is renewed under this fence). */
  readonly fence: Fence;
  readonly reloadTimeout: () => Promise<void>;
  /**
   * Re-arms the deadline when `timeoutSeconds` (the execution's current timeout, null for
   * the workflow's) differs from the one the run last armed. Omitted: changes are ignored.
   */
  readonly applyTimeout?: (timeoutSeconds: number | null) => void;
}

/**
 * The runs this process is executing, by execution id, so control signals, lease renewal,
 * lock loss and shutdown can reach them.
 */
export class RunTable {
  private readonly runs = new Map<string, RunEntry>();
  private stoppedWith: StopKind | undefined;

  /**
   * Registers a run. A run of the same execution still registered is an older claim of ours
   * that this one superseded (its job stalled and came back here): it is stopped. After
   * {@link stopAll}, a run that registers late (its claim was in flight) is stopped at once.
   */
  add(entry: RunEntry): void {
    const id = entry.fence.executionId;
    const older = this.runs.get(id);
    if (older && older.handle !== entry.handle) older.handle.stop('lease_lost');
    this.runs.set(id, entry);
    if (this.stoppedWith !== undefined) entry.handle.stop(this.stoppedWith);
  }

  /** Unregisters a run; a newer run of the same execution stays registered. */
  remove(executionId: string, handle: RunHandle): void {
    if (this.runs.get(executionId)?.handle === handle) this.runs.delete(executionId);
  }

  cancel(executionId: string): boolean {
    const run = this.runs.get(executionId);
    run?.handle.stop('cancel');
    return run !== undefined;
  }

  /**
   * Stops the run of an execution with `kind`; with `attempt`, only the run holding that
   * attempt (a newer claim of the same execution is left alone). True when one was stopped.
   */
  stop(executionId: string, kind: StopKind, attempt?: number): boolean {
    const run = this.runs.get(executionId);
    if (!run || (attempt !== undefined && run.fence.attempt !== attempt)) return false;
    run.handle.stop(kind);
    return true;
  }

  /** Stops every run, and every run registered from now on (shutdown). */
  stopAll(kind: StopKind): void {
    this.stoppedWith = kind;
    for (const run of this.runs.values()) run.handle.stop(kind);
  }

  /** The fences of every run (for lease renewal). */
  fences(): Fence[] {
    return [...this.runs.values()].map((r) => r.fence);
  }

  /** Hands a run the execution's current timeout (read by the lease renewal). */
  applyTimeout(fence: Fence, timeoutSeconds: number | null): void {
    const run = this.runs.get(fence.executionId);
    if (run?.fence.attempt === fence.attempt) run.applyTimeout?.(timeoutSeconds);
  }

  async reloadTimeout(executionId: string): Promise<void> {
    await this.runs.get(executionId)?.reloadTimeout();
  }

  get size(): number {
    return this.runs.size;
  }
}
