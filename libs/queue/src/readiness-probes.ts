import { runQueueOperation } from './queue-operation.ts';
import { assertNoEviction, type Redis } from './redis-connection.ts';

/** A readiness check: resolves when the dependency answers, rejects otherwise. */
export type ReadinessProbe = () => Promise<unknown>;

/** What {@link executorReadinessProbes} checks. */
export interface ReadinessProbeOptions {
  readonly queueName: string;
  /** Each probe's deadline: past it, the dependency counts as unavailable. */
  readonly timeoutMs: number;
  /** The `worker` connection: it waits for Redis for ever, so it is the one to ping. */
  readonly workerRedis: { ping(): Promise<unknown> };
  /** The `producer` connection, for the eviction-policy check. */
  readonly producerRedis: Pick<Redis, 'info'>;
  /** The process's other probes (Postgres), listed first and bounded the same way. */
  readonly others?: Readonly<Record<string, ReadinessProbe>>;
}

/**
 * An executor's readiness probes: `others`, then `redis` (ping) and `redis_policy` (no
 * eviction), each bounded by `timeoutMs` (operation `ready.<name>`, failing
 * `QUEUE_UNAVAILABLE`). Without deadlines a Redis that is down would leave the readiness
 * request unanswered, which looks like a hung process rather than "not ready".
 */
export function executorReadinessProbes(
  options: ReadinessProbeOptions,
): Record<string, ReadinessProbe> {
  const probes: Record<string, ReadinessProbe> = {
    ...options.others,
    redis: () => options.workerRedis.ping(),
    redis_policy: () => assertNoEviction(options.producerRedis),
  };
  const scope = { queue: options.queueName, timeoutMs: options.timeoutMs };
  return Object.fromEntries(
    Object.entries(probes).map(([name, probe]) => [
      name,
      () => runQueueOperation({ ...scope, operation: `ready.${name}` }, probe),
    ]),
  );
}
