import type { Redis } from 'ioredis';
import type { NewLogEntry } from '@linkflow/domain';
import { executionEventsChannel, type ExecutionEvent, type StatusEvent } from './channels.ts';

/** Publishes live execution events; fire-and-forget (Postgres stays the source of truth). */
export interface ExecutionEventPublisher {
  /** `iteration`: the foreach iteration of a node run inside a loop body. */
  status(
    executionId: string,
    status: StatusEvent['status'],
    nodeId?: string,
    iteration?: number,
  ): void;
  logs(executionId: string, entries: readonly NewLogEntry[], seqs: readonly number[]): void;
}

/** The most events one message carries (see {@link createEventPublisher}). */
export const MAX_EVENTS_PER_MESSAGE = 256;

/**
 * Publishes execution events on their Redis channels. Everything published within one turn
 * of the event loop (flushed by `setImmediate`, so a node's settle events and its dependant's
 * `running` event share it) goes out as one pipeline (one round trip: on this VM a wakeup of
 * another process costs the writer ~0.3 ms of CPU, see bench/RESULTS.md),
 * and an execution's events of that turn as ONE message (a JSON array when there are several,
 * in order: `decodeExecutionEvents`), so a node's log lines and status cost one PUBLISH.
 * Publish failures go to `onError` (nothing is retried).
 */
export function createEventPublisher(
  redis: Redis,
  onError: (err: unknown) => void,
): ExecutionEventPublisher {
  let pending = new Map<string, ExecutionEvent[]>();
  const flush = () => {
    const batch = pending;
    pending = new Map();
    const messages: [channel: string, message: string][] = [];
    for (const [executionId, events] of batch) {
      const channel = executionEventsChannel(executionId);
      // Bounded messages: a foreach settling many iterations at once is several PUBLISHes,
      // so no reader parses one huge message (nor loses a huge batch to one bad event).
      for (let i = 0; i < events.length; i += MAX_EVENTS_PER_MESSAGE) {
        const chunk = events.slice(i, i + MAX_EVENTS_PER_MESSAGE);
        messages.push([channel, JSON.stringify(chunk.length === 1 ? chunk[0] : chunk)]);
      }
    }
    // One message (the usual turn) needs no pipeline: building one costs more than the PUBLISH.
    const [only] = messages;
    if (messages.length === 1 && only) {
      redis.publish(...only).catch(onError);
      return;
    }
    const pipeline = redis.pipeline();
    for (const [channel, message] of messages) pipeline.publish(channel, message);
    pipeline.exec().catch(onError);
  };
  const send = (executionId: string, event: ExecutionEvent) => {
    if (pending.size === 0) setImmediate(flush);
    const events = pending.get(executionId);
    if (events === undefined) pending.set(executionId, [event]);
    else events.push(event);
  };
  return {
    status(executionId, status, nodeId, iteration) {
      const at = new Date().toISOString();
      send(executionId, {
        kind: 'status',
        status,
        ...(nodeId === undefined ? {} : { node_id: nodeId }),
        ...(iteration === undefined ? {} : { iteration }),
        at,
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
