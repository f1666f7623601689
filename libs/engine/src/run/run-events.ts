import type { ExecutionStatus, NewLogEntry, NodeStatus } from '@linkflow/domain';

/**
 * Live events for WebSocket streams (a port: the executor publishes them on Redis).
 * Fire-and-forget: Postgres stays the source of truth, so a lost event loses nothing.
 */
export interface RunEvents {
  /**
   * The execution's status, or a node's when `nodeId` is given (with the foreach
   * `iteration` of a run inside a loop body).
   */
  status(
    executionId: string,
    status: ExecutionStatus | NodeStatus,
    nodeId?: string,
    iteration?: number,
  ): void;
  /** Log lines just stored, with the seqs the store gave them (same order). */
  logs(executionId: string, entries: readonly NewLogEntry[], seqs: readonly number[]): void;
}
