import { hostname } from 'node:os';
import type { QueueLogger } from './queue-log.ts';
import type { WorkerInfo, WorkerRegistry } from './worker-registry.ts';

/** A registration lives this many heartbeats: a killed executor vanishes after about that long. */
export const HEARTBEATS_PER_TTL = 3;

/** What {@link startWorkerHeartbeat} reports and how often. */
export interface HeartbeatDeps {
  readonly registry: Pick<WorkerRegistry, 'heartbeat' | 'remove'>;
  /** This executor's worker id. */
  readonly id: string;
  readonly concurrency: number;
  readonly tags: readonly string[];
  readonly intervalMs: number;
  /** Executions running now. */
  readonly running: () => number;
  /** Runs after each heartbeat (the executor looks for new tag sets then). */
  readonly onTick: () => Promise<void>;
  readonly log: QueueLogger;
}

/**
 * Registers this executor in Redis at once and re-registers it every `intervalMs` with a TTL
 * of {@link HEARTBEATS_PER_TTL} intervals. A failed heartbeat (Redis down) is logged and the
 * next one tries again, so the executor re-appears as soon as Redis is back, even after a
 * Redis restart that lost every key. `stop()` removes the registration.
 */
export function startWorkerHeartbeat(deps: HeartbeatDeps): { stop(): Promise<void> } {
  const startedAt = new Date().toISOString();
  const info = (): WorkerInfo => ({
    id: deps.id,
    host: hostname(),
    pid: process.pid,
    started_at: startedAt,
    last_heartbeat_at: new Date().toISOString(),
    concurrency: deps.concurrency,
    tags: [...deps.tags],
    running: deps.running(),
  });
  let pass: Promise<void> | undefined;
  const beat = async () => {
    try {
      await deps.registry.heartbeat(info(), deps.intervalMs * HEARTBEATS_PER_TTL);
      await deps.onTick();
    } catch (err) {
      deps.log.warn({ err }, 'worker heartbeat failed; retrying at the next one');
    }
  };
  const tick = () => {
    pass ??= beat().finally(() => (pass = undefined));
  };
  tick();
  const timer = setInterval(tick, deps.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await pass;
      await deps.registry.remove(deps.id).catch((err: unknown) => {
        deps.log.debug({ err }, 'could not remove the worker registration');
      });
    },
  };
}
