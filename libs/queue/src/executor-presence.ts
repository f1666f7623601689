import { createBreakerBoard } from './breaker-board.ts';
import { startBreakerPublisher, type BreakerSnapshot } from './breaker-publisher.ts';
import type { QueueLogger } from './queue-log.ts';
import type { Redis } from './redis-connection.ts';
import { startWorkerHeartbeat } from './worker-heartbeat.ts';
import { createWorkerRegistry } from './worker-registry.ts';

/** Who this executor is and how often it reports (slices of the executor's configuration). */
export interface PresenceConfig {
  readonly workerId: string;
  /** The base queue name: executors of one queue set share one registry and board. */
  readonly queueName: string;
  readonly concurrency: number;
  readonly tags: readonly string[];
  readonly heartbeatMs: number;
}

/** What {@link startExecutorPresence} reads and calls. */
export interface PresenceDeps {
  /** A `producer` connection (shared, never closed here). */
  readonly connection: Redis;
  /** Executions running now. */
  readonly running: () => number;
  /** Runs after each heartbeat (the executor looks for new tag sets then). */
  readonly onTick: () => Promise<void>;
  /** This executor's breakers now. */
  readonly breakers: () => readonly BreakerSnapshot[];
  readonly log: QueueLogger;
}

/** A running presence: `breakersChanged()` after any breaker change, `stop()` at shutdown. */
export interface ExecutorPresence {
  readonly breakersChanged: () => void;
  /** Stops both and removes this executor's registration and breaker states. */
  stop(): Promise<void>;
}

/**
 * This executor's presence in the fleet: its worker registration (heartbeat, see
 * {@link startWorkerHeartbeat}) and its published breaker states (see
 * {@link startBreakerPublisher}), both every `heartbeatMs`.
 */
export function startExecutorPresence(
  config: PresenceConfig,
  deps: PresenceDeps,
): ExecutorPresence {
  const { connection, log } = deps;
  const heartbeat = startWorkerHeartbeat({
    registry: createWorkerRegistry({ connection, name: config.queueName }),
    id: config.workerId,
    concurrency: config.concurrency,
    tags: config.tags,
    intervalMs: config.heartbeatMs,
    running: deps.running,
    onTick: deps.onTick,
    log,
  });
  const breakers = startBreakerPublisher({
    board: createBreakerBoard({ connection, name: config.queueName }),
    id: config.workerId,
    snapshot: deps.breakers,
    intervalMs: config.heartbeatMs,
    log,
  });
  return {
    breakersChanged: breakers.changed,
    async stop() {
      await Promise.all([heartbeat.stop(), breakers.stop()]);
    },
  };
}
