import type { Server } from 'node:http';
import type { Clock } from '@linkflow/domain';
import { createBuiltinRegistry } from '@linkflow/nodes';
import {
  createDeadLetterQueue,
  createExecutionQueue,
  createRedis,
  type DeadLetterQueue,
  type ExecutionQueue,
  type Redis,
} from '@linkflow/queue';
import {
  createDb,
  createLeaderLock,
  createLeaseStore,
  createRunStore,
  createTenantDirectory,
  type Db,
} from '@linkflow/store';
import { BREAKER_STATE_VALUE, createExecutorMetrics, type Logger } from '@linkflow/telemetry';
import { BreakerRegistry } from './breakers/breaker-registry.ts';
import type { ExecutorConfig } from './config.ts';
import { listenForControl } from './control/control-listener.ts';
import { createDeadLetterer } from './dead-letter.ts';
import { runReadinessChecks, startHealthServer, type CheckResult } from './health-server.ts';
import { startLeaseKeeper } from './lease-keeper.ts';
import { startQueueSampler } from './queue-sampler.ts';
import { startSweeper } from './reconciler.ts';
import type { ProcessorDeps } from './run/execution-processor.ts';
import { createRunEvents } from './run/run-events.ts';
import { RunTable } from './run/run-handle.ts';
import { Semaphore } from './run/semaphore.ts';
import { createExecutionWorker, runWorkerLoop, type WorkerLoop } from './worker.ts';

export interface RunningExecutor {
  /**
   * Stops taking jobs and lets running executions finish within `graceMs`. Runs still going
   * then are interrupted without a final status (their jobs go back to the queue and another
   * executor resumes them from their checkpoints); only then are node clients and
   * connections closed.
   */
  stop(graceMs: number): Promise<void>;
  readonly metricsPort: number | undefined;
}

export interface ExecutorOptions {
  readonly clock?: Clock;
  /** Called when the worker's fetch loop fails: the process should exit (non-zero). */
  readonly onFatal?: (err: unknown) => void;
}

/** How long interrupted runs get to record their hand-over before connections close. */
const HAND_OVER_MS = 5_000;

function withTimeout(work: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), ms)),
  );
  const done = work.then(
    () => 'done' as const,
    () => 'done' as const,
  );
  return Promise.race([done, timeout]).finally(() => clearTimeout(timer));
}

interface Connections {
  readonly db: Db;
  readonly workerRedis: Redis;
  readonly producerRedis: Redis;
  readonly subscriberRedis: Redis;
}

function connect(config: ExecutorConfig, log: Logger): Connections {
  const onRedisError = (err: Error) => log.warn({ err }, 'redis error');
  return {
    db: createDb({
      url: config.databaseUrl,
      maxConnections: 16,
      applicationName: `linkflow-executor:${config.workerId}`,
    }),
    workerRedis: createRedis(config.redisUrl, {
      role: 'worker',
      connectionName: `linkflow-executor:${config.workerId}`,
      onError: onRedisError,
    }),
    producerRedis: createRedis(config.redisUrl, { role: 'producer', onError: onRedisError }),
    subscriberRedis: createRedis(config.redisUrl, { role: 'subscriber', onError: onRedisError }),
  };
}

/** The processor's dependencies: stores, node registry, breakers, events and metrics. */
function buildRuntime(config: ExecutorConfig, log: Logger, c: Connections & { clock: Clock }) {
  const { clock } = c;
  const metrics = createExecutorMetrics();
  const registry = createBuiltinRegistry({
    enabled: config.nodeTypes,
    httpAllow: config.httpAllow,
    dbConnections: config.dbConnections,
    dbAllowPrivileged: config.dbAllowPrivileged,
    tenantRef: createTenantDirectory({ pool: c.db.pool }).ref,
    codePoolSize: config.codePoolSize,
    codeMaxPerTenant: config.codeMaxPerTenant,
    maxOutputBytes: config.maxOutputBytes,
  });
  const breakers = new BreakerRegistry(undefined, {
    onStateChange: (target, state) => metrics.breakerState.set(target, BREAKER_STATE_VALUE[state]),
    onEvict: (target) => metrics.breakerState.remove(target),
  });
  const runStore = createRunStore({
    pool: c.db.pool,
    workerId: config.workerId,
    leaseMs: config.leaseMs,
  });
  const leases = createLeaseStore({ pool: c.db.pool, leaseMs: config.leaseMs });
  const deps: ProcessorDeps = {
    runStore,
    leases,
    registry,
    runs: new RunTable(),
    clock,
    workerId: config.workerId,
    log,
    maxExecutionOutputBytes: config.maxExecutionOutputBytes,
    events: createRunEvents(c.producerRedis, (err) => log.debug({ err }, 'event publish failed')),
    nodes: {
      registry,
      breakers,
      slots: new Semaphore(config.concurrency),
      clock,
      random: Math.random,
      maxOutputBytes: config.maxOutputBytes,
      expressionTimeoutMs: config.expressionTimeoutMs,
      onRetry: (type: string) => metrics.nodeRetries.inc({ type }),
      onAttempt: (type: string, status: string, seconds: number) =>
        metrics.nodeDuration.observe({ type, status }, seconds),
    },
    observe: observeExecutions(metrics),
  };
  return { deps, metrics, registry, breakers, leases };
}

function observeExecutions(
  metrics: ReturnType<typeof createExecutorMetrics>,
): NonNullable<ProcessorDeps['observe']> {
  return {
    started: (priority) => {
      metrics.executionsActive.inc();
      metrics.executionsStarted.inc({ priority });
    },
    cost: (usd) => metrics.costUsd.inc(usd),
    finished: (status, seconds) => {
      metrics.executionsActive.dec();
      metrics.executionsFinished.inc({ status });
      metrics.executionDuration.observe({ status }, seconds);
    },
  };
}

type Runtime = ReturnType<typeof buildRuntime>;

function startHealth(
  config: ExecutorConfig,
  log: Logger,
  parts: { c: Connections; rt: Runtime; loop: () => WorkerLoop | undefined },
): Promise<Server | undefined> {
  if (config.metricsPort === 0) return Promise.resolve(undefined);
  const ready = async (): Promise<Record<string, CheckResult>> => {
    const checks = await runReadinessChecks(
      {
        postgres: () => parts.c.db.pool.query('select 1'),
        redis: () => parts.c.workerRedis.ping(),
      },
      () => parts.rt.registry.health(),
      log,
    );
    return { ...checks, worker: parts.loop()?.running === false ? 'unavailable' : 'ok' };
  };
  return startHealthServer({
    port: config.metricsPort,
    host: config.metricsHost,
    registry: parts.rt.metrics.registry,
    ready,
    log,
  });
}

/** Wires and starts one executor: worker, control listener, leases, sweeper, health server. */
export async function startExecutor(
  config: ExecutorConfig,
  log: Logger,
  options: ExecutorOptions = {},
): Promise<RunningExecutor> {
  const clock = options.clock ?? { now: () => new Date() };
  const c = connect(config, log);
  const rt = buildRuntime(config, log, { ...c, clock });
  const { runs } = rt.deps;
  const queue = createExecutionQueue({ connection: c.producerRedis, name: config.queueName });
  const dlq = createDeadLetterQueue({ connection: c.producerRedis, name: config.queueName });
  const stopping = new AbortController();
  const deadLetterer = createDeadLetterer({
    dlq,
    runStore: rt.deps.runStore,
    clock,
    log,
    signal: stopping.signal,
  });
  const subscription = await listenForControl(c.subscriberRedis, runs, log);
  const worker = createExecutionWorker(rt.deps, {
    connection: c.workerRedis,
    queueName: config.queueName,
    concurrency: config.concurrency,
    lockMs: config.lockMs,
    stalledIntervalMs: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
    queue,
    deadLetterer,
    log,
  });
  const services = startServices(config, log, { c, rt, queue, dlq, deadLetterer });
  const loop: { current?: WorkerLoop } = {};
  const server = await startHealth(config, log, { c, rt, loop: () => loop.current });
  loop.current = runWorkerLoop(worker, { log, onFailed: (err) => options.onFatal?.(err) });
  log.info(
    { workerId: config.workerId, queue: config.queueName, concurrency: config.concurrency },
    'executor started',
  );
  const parts = { log, c, rt, worker, services, subscription, server, queue, dlq, stopping };
  return {
    metricsPort: config.metricsPort > 0 ? config.metricsPort : undefined,
    stop: (graceMs) => stopExecutor(parts, graceMs),
  };
}

/**
 * Shutdown order matters: the worker stops taking jobs and running executions get the grace
 * period; runs still going are then stopped as `shutdown` (no final status, their jobs back
 * to waiting) while leases are still renewed and node clients still open; only then do the
 * node clients and connections close.
 */
async function stopExecutor(
  p: {
    log: Logger;
    c: Connections;
    rt: Runtime;
    worker: { close(): Promise<void> };
    services: ReturnType<typeof startServices>;
    subscription: { unsubscribe(): Promise<void> };
    server: Server | undefined;
    queue: ExecutionQueue;
    dlq: DeadLetterQueue;
    stopping: AbortController;
  },
  graceMs: number,
): Promise<void> {
  const { runs } = p.rt.deps;
  await p.services.stopSweeper();
  p.services.stopSampler();
  const closing = p.worker.close();
  if ((await withTimeout(closing, graceMs)) === 'timeout') {
    p.log.warn(
      { graceMs, running: runs.size },
      'grace period over; interrupting running executions, which resume elsewhere',
    );
    runs.stopAll('shutdown');
    if ((await withTimeout(closing, HAND_OVER_MS)) === 'timeout')
      p.log.warn('runs did not stop in time; their jobs are recovered as stalled');
  }
  p.services.stopLeaseKeeper();
  p.stopping.abort();
  await p.subscription.unsubscribe().catch(() => undefined);
  p.server?.close();
  p.rt.breakers.shutdown();
  await Promise.allSettled([p.queue.close(), p.dlq.close(), p.rt.registry.close()]);
  p.c.workerRedis.disconnect();
  p.c.producerRedis.disconnect();
  p.c.subscriberRedis.disconnect();
  await p.c.db.close();
}

/** Background loops: lease renewal, the sweeper (when this process holds the lock), sampling. */
function startServices(
  config: ExecutorConfig,
  log: Logger,
  parts: {
    c: Connections;
    rt: Runtime;
    queue: ExecutionQueue;
    dlq: DeadLetterQueue;
    deadLetterer: ReturnType<typeof createDeadLetterer>;
  },
) {
  const { rt, queue, dlq } = parts;
  const stopLeaseKeeper = startLeaseKeeper(
    { leases: rt.leases, runs: rt.deps.runs, log },
    config.leaseMs,
  );
  const lock = createLeaderLock({
    url: config.databaseUrl,
    name: `sweeper:${config.queueName}`,
    applicationName: `linkflow-sweeper:${config.workerId}`,
    // Three missed passes (at least 30 s) and a frozen leader hands sweeping to another.
    staleAfterMs: Math.max(3 * config.reconcileIntervalMs, 30_000),
    onError: (err) => log.debug({ err }, 'sweeper lock connection failed'),
  });
  const stopSweeper = startSweeper(
    { leases: rt.leases, queue, deadLetterer: parts.deadLetterer, lock, log },
    { intervalMs: config.reconcileIntervalMs, pendingGraceMs: config.reconcileAfterMs },
  );
  const stopSampler = startQueueSampler({
    queue,
    dlq,
    depth: rt.metrics.queueDepth,
    dlqSize: rt.metrics.dlqSize,
    log,
  });
  return { stopLeaseKeeper, stopSweeper, stopSampler };
}
