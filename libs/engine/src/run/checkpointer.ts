import {
  CANCELLED_STATUS,
  CLAIMED_STATUS,
  type ExecutionStatus,
  type Fence,
  type NewLogEntry,
  type NodeRunWrite,
  type NodeStart,
} from '@linkflow/domain';
import type { RunStorePort } from '../ports.ts';
import type { SettledWithoutRun, SettleNext } from './dag-runner.ts';
import { withDbRetry } from './db-retry.ts';
import type { NodeRunResult } from './node-runner.ts';
import type { RunEvents } from './run-events.ts';
import { isHandOver, type RunHandle } from './run-handle.ts';

function toWrite(
  node: { nodeId: string; iteration: number },
  type: string,
  r: NodeRunResult | SettledWithoutRun,
): NodeRunWrite {
  const { nodeId, iteration } = node;
  if (!('attempts' in r)) {
    return {
      nodeId,
      iteration,
      type,
      status: r.status,
      attempts: 0,
      startedAt: null,
      finishedAt: null,
      durationMs: null,
      outputJson: null,
      outputBytes: 0,
      error: r.error,
      attemptLog: [],
      usage: null,
      cost: '0',
    };
  }
  return {
    nodeId,
    iteration,
    type,
    status: r.status,
    attempts: r.attempts,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
    outputJson: r.outputJson,
    outputBytes: r.outputBytes,
    error: r.error,
    attemptLog: r.attemptLog,
    usage: r.usage,
    cost: r.cost,
  };
}

/**
 * An interrupted run as a `running` row (its attempts, start, cost and lines kept): the next
 * attempt runs the node again, a terminal write ends it `cancelled`.
 */
function restartable(write: NodeRunWrite): NodeRunWrite {
  return { ...write, status: 'running', finishedAt: null, durationMs: null, error: null };
}

/** A write allowed after an API cancel of this attempt (the node ran: it is recorded). */
const WHILE_CANCELLED: readonly ExecutionStatus[] = [CLAIMED_STATUS, CANCELLED_STATUS];

/** The ports a {@link Checkpointer} writes through. */
export interface CheckpointerDeps {
  readonly runStore: Pick<
    RunStorePort,
    'checkpoint' | 'readState' | 'appendLogs' | 'markStarted' | 'isTransient'
  >;
  readonly events: RunEvents;
  readonly onDbRetry?: (err: unknown) => void;
  /** A `running` mark that could not be written (the node's own checkpoint still is). */
  readonly onMarkFailed?: (err: unknown) => void;
  /**
   * Bench only (LINKFLOW_BENCH_SKIP_CHECKPOINTS): no per-node write; the lines ride with the
   * final status write and a crash loses the run's progress.
   */
  readonly skipCheckpoints?: boolean;
}

/** A node result held back to ride with the final status write. */
export interface DeferredNode {
  readonly nodeId: string;
  readonly status: string;
  readonly run: NodeRunWrite;
  readonly logs: NewLogEntry[];
}

/**
 * Writes node results for one run, fenced, with their log lines; buffers execution-level
 * log lines to ride along with the next write. A write the fence rejects means the run
 * was cancelled or taken over, and stops it.
 */
export class Checkpointer {
  private pending: NewLogEntry[] = [];
  private deferred: DeferredNode | undefined;

  constructor(
    private readonly deps: CheckpointerDeps,
    private readonly fence: Fence,
    private readonly handle: RunHandle,
    private readonly typeOf: (nodeId: string) => string,
  ) {}

  log(entry: Omit<NewLogEntry, 'nodeId'> & { nodeId?: string | null }): void {
    this.pending.push({ ...entry, nodeId: entry.nodeId ?? null });
  }

  /**
   * Checkpoints a node. With `last` (nothing depends on it, nothing else runs) the write
   * is held back for the final status statement: one commit instead of two.
   */
  async settle(
    nodeId: string,
    result: NodeRunResult | SettledWithoutRun,
    next: SettleNext = { last: false, starting: [] },
  ): Promise<void> {
    const { last } = next;
    const iteration = next.iteration ?? -1;
    const kind = this.handle.stopKind;
    // A node interrupted because the run is handed over did not settle: the next holder runs
    // it again, so recording it `cancelled` would make the resumed execution skip (and fail) it.
    if (result.status === 'cancelled' && isHandOver(kind)) return;
    // Interrupted because the run is abandoned (its job fails and is retried), with no cancel
    // or timeout in effect: recorded as a restartable `running` row, which the retry runs
    // again and every terminal write (finish, cancel, dead letter) ends `cancelled`.
    const interrupted = result.status === 'cancelled' && this.handle.abandoned && !kind;
    // Lines of a run inside a foreach name its iteration (`data.iteration`).
    const nodeLogs: NewLogEntry[] =
      'logs' in result
        ? result.logs.map((l) =>
            iteration < 0 ? { ...l, nodeId } : { ...l, nodeId, data: { ...l.data, iteration } },
          )
        : [];
    const key = { nodeId, iteration };
    const logs = [...this.pending.splice(0), ...nodeLogs];
    if (last && this.handle.stopKind === undefined) {
      this.deferred = {
        nodeId,
        status: result.status,
        run: toWrite(key, this.typeOf(nodeId), result),
        logs,
      };
      return;
    }
    const stopped = this.handle.stopKind !== undefined;
    if (this.deps.skipCheckpoints && !stopped) {
      this.pending.push(...logs);
      const it = iteration < 0 ? undefined : iteration;
      this.deps.events.status(this.fence.executionId, result.status, nodeId, it);
      return;
    }
    const settled: NodeRunWrite = {
      ...toWrite(key, this.typeOf(nodeId), result),
      ...(stopped ? {} : { starting: next.starting.map((id) => this.startOf(id)) }),
    };
    const write = interrupted ? restartable(settled) : settled;
    const allowed = this.handle.stopKind === 'cancel' ? WHILE_CANCELLED : [CLAIMED_STATUS];
    let seqs = await this.write(write, logs, allowed);
    // Fenced out: a cancel by the API (same attempt) must not erase a node that ran; it is
    // written under the cancelled status. A takeover writes nothing: the new holder re-runs it.
    let status = interrupted ? undefined : result.status;
    if (seqs === undefined && (await this.investigate())) {
      seqs = await this.write(settled, logs, WHILE_CANCELLED);
      status = result.status;
    }
    if (seqs === undefined) return;
    this.deps.events.logs(this.fence.executionId, logs, seqs);
    if (status === undefined) return;
    this.deps.events.status(
      this.fence.executionId,
      status,
      nodeId,
      iteration < 0 ? undefined : iteration,
    );
  }

  /**
   * After the final write was fenced out: when the API cancelled the execution (same
   * attempt), writes the held-back last node and `logs` under the cancelled status and
   * returns true; false when another worker took the run over (nothing is written).
   */
  async recordAfterCancel(logs: readonly NewLogEntry[]): Promise<boolean> {
    if (!(await this.investigate())) {
      this.deferred = undefined;
      return false;
    }
    this.pending.unshift(...logs);
    await this.flushDeferred();
    await this.flush();
    return true;
  }

  private write(
    run: NodeRunWrite,
    logs: readonly NewLogEntry[],
    allowed: readonly ExecutionStatus[],
  ): Promise<number[] | undefined> {
    return withDbRetry(() => this.deps.runStore.checkpoint(this.fence, run, logs, allowed), {
      isTransient: this.deps.runStore.isTransient,
      onRetry: this.deps.onDbRetry,
    });
  }

  /** Hands over the held-back last node (the final write stores it). */
  takeDeferred(): DeferredNode | undefined {
    const deferred = this.deferred;
    this.deferred = undefined;
    return deferred;
  }

  private startOf(nodeId: string): NodeStart {
    return { nodeId, type: this.typeOf(nodeId) };
  }

  /** Gives back a held-back node whose final write did not happen. */
  restoreDeferred(deferred: DeferredNode): void {
    this.deferred = deferred;
  }

  /** Writes a held-back node on its own (when the run ends without a final write of ours). */
  async flushDeferred(): Promise<void> {
    const deferred = this.takeDeferred();
    if (!deferred) return;
    this.pending.unshift(...deferred.logs.filter((l) => l.nodeId === null));
    const nodeLogs = deferred.logs.filter((l) => l.nodeId !== null);
    const seqs = await this.write(deferred.run, nodeLogs, WHILE_CANCELLED);
    if (seqs) this.published({ ...deferred, logs: nodeLogs }, seqs);
  }

  /** Publishes the events of a node that was written with the final status. */
  published(deferred: DeferredNode, seqs: readonly number[]): void {
    this.deps.events.logs(this.fence.executionId, deferred.logs, seqs);
    this.deps.events.status(
      this.fence.executionId,
      deferred.status as Parameters<RunEvents['status']>[1],
      deferred.nodeId,
    );
  }

  /**
   * Records nodes `running` that start unannounced, without holding them up: the write is
   * not awaited (a lost mark only delays the row until the node's own checkpoint).
   */
  markStarted(nodeIds: readonly string[], at: Date): void {
    const starts = nodeIds.map((id) => this.startOf(id));
    this.deps.runStore.markStarted(this.fence, starts, at).catch((err: unknown) => {
      this.deps.onMarkFailed?.(err);
    });
  }

  /** Hands over the buffered execution-level lines (the final write stores them). */
  takePending(): NewLogEntry[] {
    return this.pending.splice(0);
  }

  /** Flushes buffered execution-level lines on their own (when no final write follows). */
  async flush(): Promise<void> {
    const logs = this.pending.splice(0);
    const seqs = await withDbRetry(() => this.deps.runStore.appendLogs(this.fence, logs), {
      isTransient: this.deps.runStore.isTransient,
      onRetry: this.deps.onDbRetry,
    });
    if (seqs) this.deps.events.logs(this.fence.executionId, logs, seqs);
  }

  /**
   * Why did the fence reject us? Cancelled by the API (stops the run as a cancel, true), or
   * another worker holds the run (stops it as `lease_lost`, false).
   */
  private async investigate(): Promise<boolean> {
    const state = await withDbRetry(() => this.deps.runStore.readState(this.fence.executionId), {
      isTransient: this.deps.runStore.isTransient,
      onRetry: this.deps.onDbRetry,
    });
    const cancelled = state?.status === CANCELLED_STATUS && state.attempt === this.fence.attempt;
    this.handle.stop(cancelled ? 'cancel' : 'lease_lost');
    return cancelled;
  }
}
