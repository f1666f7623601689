import type { ExecutionStatus } from '@linkflow/domain';
import type { Fence, NewLogEntry, NodeRunWrite, RunStore } from '@linkflow/store';
import type { SettledWithoutRun } from './dag-runner.ts';
import { withDbRetry } from './db-retry.ts';
import type { NodeRunResult } from './node-runner.ts';
import type { RunEvents } from './run-events.ts';
import type { RunHandle } from './run-handle.ts';

function toWrite(nodeId: string, type: string, r: NodeRunResult | SettledWithoutRun): NodeRunWrite {
  if (!('attempts' in r)) {
    return {
      nodeId,
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

export interface CheckpointerDeps {
  readonly runStore: Pick<RunStore, 'checkpoint' | 'readState' | 'appendLogs'>;
  readonly events: RunEvents;
  readonly onDbRetry?: (err: unknown) => void;
}

/**
 * Writes node results for one run, fenced, with their log lines; buffers execution-level
 * log lines to ride along with the next write. A write the fence rejects means the run
 * was cancelled or taken over, and stops it.
 */
export class Checkpointer {
  private pending: NewLogEntry[] = [];

  constructor(
    private readonly deps: CheckpointerDeps,
    private readonly fence: Fence,
    private readonly handle: RunHandle,
    private readonly typeOf: (nodeId: string) => string,
  ) {}

  log(entry: Omit<NewLogEntry, 'nodeId'> & { nodeId?: string | null }): void {
    this.pending.push({ ...entry, nodeId: entry.nodeId ?? null });
  }

  async settle(nodeId: string, result: NodeRunResult | SettledWithoutRun): Promise<void> {
    const nodeLogs: NewLogEntry[] =
      'logs' in result ? result.logs.map((l) => ({ ...l, nodeId })) : [];
    const logs = [...this.pending.splice(0), ...nodeLogs];
    const allowed: ExecutionStatus[] =
      this.handle.stopKind === 'cancel' ? ['running', 'cancelled'] : ['running'];
    const write = toWrite(nodeId, this.typeOf(nodeId), result);
    const seqs = await withDbRetry(
      () => this.deps.runStore.checkpoint(this.fence, write, logs, allowed),
      { onRetry: this.deps.onDbRetry },
    );
    if (seqs === undefined) return this.investigate();
    this.deps.events.logs(this.fence.executionId, logs, seqs);
    this.deps.events.status(this.fence.executionId, result.status, nodeId);
  }

  /** Hands over the buffered execution-level lines (the final write stores them). */
  takePending(): NewLogEntry[] {
    return this.pending.splice(0);
  }

  /** Flushes buffered execution-level lines on their own (when no final write follows). */
  async flush(): Promise<void> {
    const logs = this.pending.splice(0);
    const seqs = await withDbRetry(() => this.deps.runStore.appendLogs(this.fence, logs), {
      onRetry: this.deps.onDbRetry,
    });
    if (seqs) this.deps.events.logs(this.fence.executionId, logs, seqs);
  }

  /** Why did the fence reject us? Cancelled by the API, or another worker holds the run. */
  private async investigate(): Promise<void> {
    const state = await this.deps.runStore.readState(this.fence.executionId);
    if (state?.status === 'cancelled' && state.attempt === this.fence.attempt)
      this.handle.stop('cancel');
    else this.handle.stop('lease_lost');
  }
}
