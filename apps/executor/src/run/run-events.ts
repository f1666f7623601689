import type { Redis } from 'ioredis';
import { publishEvent, type ExecutionEvent, type StatusEvent } from '@linkflow/queue';
import type { NewLogEntry } from '@linkflow/store';

/** Live events for WebSocket streams; fire-and-forget (Postgres stays the source of truth). */
export interface RunEvents {
  status(executionId: string, status: StatusEvent['status'], nodeId?: string): void;
  logs(executionId: string, entries: readonly NewLogEntry[], seqs: readonly number[]): void;
}

export function createRunEvents(redis: Redis, onError: (err: unknown) => void): RunEvents {
  const send = (executionId: string, event: ExecutionEvent) => {
    publishEvent(redis, executionId, event).catch(onError);
  };
  return {
    status(executionId, status, nodeId) {
      send(executionId, {
        kind: 'status',
        status,
        ...(nodeId === undefined ? {} : { node_id: nodeId }),
        at: new Date().toISOString(),
      });
    },
    logs(executionId, entries, seqs) {
      entries.forEach((e, i) => {
        const seq = seqs[i];
        if (seq === undefined) return;
        const data = (e.data ?? null) as Record<string, unknown> | null;
        send(executionId, {
          kind: 'log',
          entry: {
            seq,
            at: e.at.toISOString(),
            level: e.level,
            node_id: e.nodeId,
            message: e.message,
            data,
          },
        });
      });
    },
  };
}
