import type { Server } from 'node:http';
import type { Clock } from '@linkflow/domain';
import { createBuiltinRegistry } from '@linkflow/nodes';
import { createDeadLetterQueue, createExecutionQueue, createRedis } from '@linkflow/queue';
import { createDb, createRunStore } from '@linkflow/store';
import { BREAKER_STATE_VALUE, createMetrics, type Logger } from '@linkflow/telemetry';
import { BreakerRegistry } from './breakers/breaker-registry.ts';
import type { ExecutorConfig } from './config.ts';
import { listenForControl } from './control/control-listener.ts';
import { startHealthServer } from './health-server.ts';
import { startQueueSampler } from './queue-sampler.ts';
import { startReconciler } from './reconciler.ts';
import { createRunEvents } from './run/run-events.ts';
import { RunTable } from './run/run-handle.ts';
import { Semaphore } from './run/semaphore.ts';
import { createExecutionWorker } from './worker.ts';

export interface RunningExecutor {
  /** Stops taking jobs, lets running executions finish within `graceMs`, then closes everything. */
  stop(graceMs: number): Promise<void>;
  readonly metricsPort: number | undefined;
}

function withTimeout(work: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), ms)),
  );
  return Promise.race([work.then(() => 'done' as const), timeout]).finally(() =>
    clearTimeout(timer),
  );
}

/** Wires and starts one executor: worker, control listener, reconciler, health server. */
export async function startExecutor(
  config: ExecutorConfig,
  log: Logger,
  clock: Clock = { now: () => new Date() },
): Promise<RunningExecutor> {
  const onRedisError = (err: Error) => log.warn({ err }, 'redis error');
  const db = createDb({
    url: config.databaseUrl,
    maxConnections: 16,
    applicationName: `linkflow-executor:${config.workerId}`,
  });
  const workerRedis = createRedis(config.redisUrl, {
    role: 'worker',
    connectionName: `linkflow-executor:${config.workerId}`,
    onError: onRedisError,
  });
  const producerRedis = createRedis(config.redisUrl, { role: 'producer', onError: onRedisError });
  const subscriberRedis = createRedis(config.redisUrl, {
    role: 'subscriber',
    onError: onRedisError,
  });
  const metrics = createMetrics();
  const registry = createBuiltinRegistry({
    enabled: config.nodeTypes,
    httpAllow: config.httpAllow,
    dbConnections: config.dbConnections,
    codePoolSize: config.codePoolSize,
    maxOutputBytes: config.maxOutputBytes,
  });
  const breakers = new BreakerRegistry(undefined, {
    onStateChange: (target, state) => metrics.breakerState.set(target, BREAKER_STATE_VALUE[state]),
    onEvict: (target) => metrics.breakerState.remove(target),
  });
  const runStore = createRunStore({ pool: db.pool, workerId: config.workerId });
  const runs = new RunTable();
  const queue = createExecutionQueue({ connection: producerRedis, name: config.queueName });
  const dlq = createDeadLetterQueue({ connection: producerRedis, name: config.queueName });
  const deps = {
    runStore,
    registry,
    runs,
    clock,
    workerId: config.workerId,
    log,
    maxExecutionOutputBytes: config.maxExecutionOutputBytes,
    events: createRunEvents(producerRedis, (err) => log.debug({ err }, 'event publish failed')),
    nodes: {
      registry,
      breakers,
      slots: new Semaphore(config.concurrency),
      clock,
      random: Math.random,
      maxOutputBytes: config.maxOutputBytes,
      onRetry: (type: string) => metrics.nodeRetries.inc({ type }),
      onAttempt: (type: string, status: string, seconds: number) =>
        metrics.nodeDuration.observe({ type, status }, seconds),
    },
    observe: {
      started: (priority: string) => {
        metrics.executionsActive.inc();
        metrics.executionsStarted.inc({ priority });
      },
      cost: (usd: number) => metrics.costUsd.inc(usd),
      finished: (status: string, seconds: number) => {
        metrics.executionsActive.dec();
        metrics.executionsFinished.inc({ status });
        metrics.executionDuration.observe({ status }, seconds);
      },
    },
  };
  const subscription = await listenForControl(subscriberRedis, runs, log);
  const worker = createExecutionWorker(deps, {
    connection: workerRedis,
    queueName: config.queueName,
    concurrency: config.concurrency,
    lockMs: config.lockMs,
    stalledIntervalMs: config.stalledIntervalMs,
    dlq,
    log,
  });
  const stopReconciler = startReconciler(
    { runStore, queue, clock, log },
    config.reconcileIntervalMs,
    config.reconcileAfterMs,
  );
  const stopSampler = startQueueSampler({
    queue,
    dlq,
    depth: metrics.queueDepth,
    dlqSize: metrics.dlqSize,
    log,
  });
  let server: Server | undefined;
  if (config.metricsPort > 0) {
    server = await startHealthServer(config.metricsPort, metrics.registry, async () => {
      const [pg, redis, nodes] = await Promise.allSettled([
        db.pool.query('select 1'),
        workerRedis.ping(),
        registry.health(),
      ]);
      const checks: Record<string, string> = {
        postgres: pg.status === 'fulfilled' ? 'ok' : String(pg.reason),
        redis: redis.status === 'fulfilled' ? 'ok' : String(redis.reason),
      };
      if (nodes.status === 'fulfilled')
        for (const [type, h] of Object.entries(nodes.value))
          checks[`node:${type}`] = h.ok ? 'ok' : (h.detail ?? 'unhealthy');
      return checks;
    });
  }
  void worker.run();
  log.info(
    { workerId: config.workerId, queue: config.queueName, concurrency: config.concurrency },
    'executor started',
  );
  return {
    metricsPort: config.metricsPort > 0 ? config.metricsPort : undefined,
    async stop(graceMs) {
      stopReconciler();
      stopSampler();
      const closed = await withTimeout(worker.close(), graceMs);
      if (closed === 'timeout')
        log.warn(
          { graceMs, running: runs.size },
          'grace period over; leaving running executions to be resumed elsewhere',
        );
      await subscription.unsubscribe().catch(() => undefined);
      server?.close();
      breakers.shutdown();
      await Promise.allSettled([queue.close(), dlq.close(), registry.close()]);
      if (closed === 'timeout') await worker.close(true).catch(() => undefined);
      workerRedis.disconnect();
      producerRedis.disconnect();
      subscriberRedis.disconnect();
      await db.close();
    },
  };
}
