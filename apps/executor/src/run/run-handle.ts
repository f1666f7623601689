import { NodeError } from '@linkflow/nodes';

/** Why a run stopped before its DAG finished. */
export type StopKind = 'cancel' | 'timeout' | 'lease_lost';

const REASONS: Record<StopKind, (detail: string) => NodeError> = {
  cancel: () => new NodeError('CANCELLATION', 'execution was cancelled', { retryable: false }),
  timeout: (detail) =>
    new NodeError('TIMEOUT', `execution exceeded its timeout of ${detail}`, { retryable: false }),
  lease_lost: () =>
    new NodeError('CANCELLATION', 'execution was taken over by another worker', {
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

/** The runs this process is executing, so control signals can reach them. */
export class RunTable {
  private readonly runs = new Map<
    string,
    { handle: RunHandle; reloadTimeout: () => Promise<void> }
  >();

  add(executionId: string, handle: RunHandle, reloadTimeout: () => Promise<void>): void {
    this.runs.set(executionId, { handle, reloadTimeout });
  }

  remove(executionId: string): void {
    this.runs.delete(executionId);
  }

  cancel(executionId: string): boolean {
    const run = this.runs.get(executionId);
    run?.handle.stop('cancel');
    return run !== undefined;
  }

  async reloadTimeout(executionId: string): Promise<void> {
    await this.runs.get(executionId)?.reloadTimeout();
  }

  get size(): number {
    return this.runs.size;
  }
}
