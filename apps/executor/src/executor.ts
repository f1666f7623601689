import { configSecretValues, type Clock, type LiveSecrets } from '@linkflow/domain';
import {
  createEngineFromConfig,
  engineJobHandlers,
  fleetLockStaleAfterMs,
  settledWithin,
} from '@linkflow/engine';
import { createBuiltinRegistry } from '@linkflow/nodes';
import {
  cancelSignaller,
  createEventPublisher,
  createQueueConsumers,
  createRedis,
  executorReadinessProbes,
  jobQueuePort,
  listenForControl,
  openExecutorQueues,
  startExecutorPresence,
  createMetricsBoard,
  startMetricsReporter,
  type QueueConsumers,
} from '@linkflow/queue';
import {
  createChildExecutionStore,
  createCredentialResolver,
  createDb,
  createFleetLocks,
  createLeaseStore,
  createRetentionStore,
  createRunStore,
  createSecretCipher,
  createTenantDirectory,
} from '@linkflow/store';
import {
  createExecutionTracing,
  createExecutorMetrics,
  fleetSnapshot,
  runMetrics,
  runReadinessChecks,
  startHealthServer,
  withExtractedContext,
  type Logger,
} from '@linkflow/telemetry';
import type { ExecutorConfig } from './config.ts';

/** How long each shutdown step that talks to Redis or a node client may take. */
const CLOSE_WAIT_MS = 5_000;
/** How long one readiness probe may take before it counts as unavailable. */
const PROBE_TIMEOUT_MS = 2_000;

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
  /** Credential values held while nodes run; main.ts shares it with the logger and tracing. */
  readonly liveSecrets?: LiveSecrets;
}

/** What {@link buildEngine} takes besides config, logger and connections. */
interface EngineRuntime {
  readonly clock: Clock;
  readonly liveSecrets: LiveSecrets | undefined;
}

type Connections = ReturnType<typeof connect>;

function connect(config: ExecutorConfig, log: Logger) {
  const onError = (err: Error) => log.warn({ err }, 'redis error');
  const name = `linkflow-executor:${config.workerId}`;
  return {
    db: createDb({ url: config.databaseUrl, maxConnections: 16, applicationName: name }),
    workerRedis: createRedis(config.redisUrl, { role: 'worker', connectionName: name, onError }),
    producerRedis: createRedis(config.redisUrl, { role: 'producer', onError }),
    subscriberRedis: createRedis(config.redisUrl, { role: 'subscriber', onError }),
  };
}

/** The engine over the executor's ports: Postgres stores, Redis events, the DLQ, metrics. */
function buildEngine(config: ExecutorConfig, log: Logger, c: Connections, runtime: EngineRuntime) {
  const { clock, liveSecrets } = runtime;
  const { workerId, leaseMs, queueName } = config;
  const q = openExecutorQueues({ connection: c.producerRedis, name: queueName });
  const metrics = createExecutorMetrics({
    maxWorkflows: config.metricsMaxWorkflows,
    maxTargets: config.metricsMaxTargets,
    queue: {
      read: () => q.snapshot(),
      onError: (err) => log.warn({ err }, 'queue metrics unavailable for this scrape'),
    },
  });
  const { ref: tenantRef } = createTenantDirectory({ pool: c.db.pool });
  // The node options are named as in the configuration, but for the enabled types.
  const registry = createBuiltinRegistry({ ...config, enabled: config.nodeTypes, tenantRef });
  const locks = createFleetLocks({
    ...{ url: config.databaseUrl, workerId, queueName },
    sweeperStaleAfterMs: fleetLockStaleAfterMs(config.reconcileIntervalMs),
    retentionStaleAfterMs: fleetLockStaleAfterMs(config.retentionIntervalMs),
    onError: (task, err) => log.debug({ err, task }, 'fleet lock connection failed'),
  });
  // Bound once the breaker publisher runs (after the engine exists).
  const breakerChange = { notify: () => {} };
  const engine = createEngineFromConfig(config, {
    runStore: createRunStore({ pool: c.db.pool, workerId, leaseMs }),
    leases: createLeaseStore({ pool: c.db.pool, leaseMs }),
    registry,
    events: createEventPublisher(c.producerRedis, (err) =>
      log.debug({ err }, 'event publish failed'),
    ),
    dlq: q.dlq,
    clock,
    log,
    onBreakerChange: () => breakerChange.notify(),
    metrics: runMetrics(metrics),
    // The global tracer: a no-op until instrumentation.ts has started the SDK. Node attempt
    // spans only when spans leave the process (OTEL_EXPORTER_OTLP_ENDPOINT).
    tracing: createExecutionTracing('linkflow-executor', undefined, {
      nodeSpans: config.otlpEndpoint !== undefined,
    }),
    secretValues: configSecretValues(config),
    // Without LINKFLOW_SECRETS_KEY the port answers every resolution with VALIDATION.
    credentials: createCredentialResolver({
      pool: c.db.pool,
      cipher: createSecretCipher(config.secretsKeys),
    }),
    ...(liveSecrets && { liveSecrets }),
    children: {
      ...createChildExecutionStore({ pool: c.db.pool }),
      signalCancel: cancelSignaller(c.producerRedis, (err) =>
        log.warn({ err }, 'child cancel signal failed; its lease renewal stops it'),
      ),
    },
    sweep: { queue: jobQueuePort(q.queues), lock: locks.sweeper },
    retention: { store: createRetentionStore({ pool: c.db.pool }), lock: locks.retention },
  });
  return { engine, metrics, registry, q, breakerChange };
}

type Runtime = ReturnType<typeof buildEngine>;

function startHealth(config: ExecutorConfig, log: Logger, c: Connections, rt: Runtime) {
  const loop: { current?: Pick<QueueConsumers, 'running'> } = {};
  if (config.metricsPort === 0) return { server: Promise.resolve(undefined), loop };
  const probes = executorReadinessProbes({
    workerRedis: c.workerRedis,
    producerRedis: c.producerRedis,
    queueName: config.queueName,
    timeoutMs: PROBE_TIMEOUT_MS,
    others: { postgres: () => c.db.pool.query('select 1') },
  });
  const ready = async () => ({
    ...(await runReadinessChecks(probes, () => rt.registry.health(), log)),
    worker: loop.current?.running === false ? ('unavailable' as const) : ('ok' as const),
  });
  const { metricsPort: port, metricsHost: host } = config;
  const registry = rt.metrics.registry;
  return { server: startHealthServer({ port, host, registry, ready, log }), loop };
}

/** The queue consumers: the engine runs each job inside the trace context the job carried. */
function consume(
  config: ExecutorConfig,
  log: Logger,
  wiring: { c: Connections; rt: Runtime; onFatal: (err: unknown) => void },
) {
  const { c, rt, onFatal } = wiring;
  const { maxStalledCount } = config;
  const handlers = engineJobHandlers(rt.engine, { log, maxStalledCount });
  return createQueueConsumers({
    handlers: {
      ...handlers,
      process: (executionId, trace) =>
        withExtractedContext(trace, () => handlers.process(executionId)),
    },
    queues: rt.q.queues,
    config,
    workerRedis: c.workerRedis,
    producerRedis: c.producerRedis,
    log,
    onFatal,
  });
}

/**
 * Reports this executor's metrics for the API's `/metrics` (see `startMetricsReporter`).
 * Started before the executor takes jobs: a failure here stops the start-up, not running work.
 * @throws AppError `QUEUE_UNAVAILABLE` when the metrics request channel cannot be subscribed
 */
function reportMetrics(config: ExecutorConfig, log: Logger, c: Connections, rt: Runtime) {
  return startMetricsReporter({
    board: createMetricsBoard({ connection: c.producerRedis, name: config.queueName }),
    subscriber: c.subscriberRedis,
    id: config.workerId,
    snapshot: () => fleetSnapshot(rt.metrics.registry),
    intervalMs: config.heartbeatMs,
    log,
  });
}

/** Wires and starts one executor: worker, control listener, leases, sweeper, health server. */
export async function startExecutor(
  config: ExecutorConfig,
  log: Logger,
  options: ExecutorOptions = {},
): Promise<RunningExecutor> {
  const c = connect(config, log);
  const rt = buildEngine(config, log, c, {
    clock: options.clock ?? { now: () => new Date() },
    liveSecrets: options.liveSecrets,
  });
  const subscription = await listenForControl(c.subscriberRedis, rt.engine.runs, log);
  const reporter = await reportMetrics(config, log, c, rt);
  const consumers = consume(config, log, { c, rt, onFatal: (e) => options.onFatal?.(e) });
  const health = startHealth(config, log, c, rt);
  const server = await health.server;
  // The untagged queue at once; tag-set queues as the heartbeat finds them.
  await settledWithin(consumers.refresh(), CLOSE_WAIT_MS);
  health.loop.current = consumers;
  const presence = startExecutorPresence(config, {
    connection: c.producerRedis,
    running: () => rt.engine.runs.size,
    onTick: () => consumers.refresh(),
    breakers: () => rt.engine.breakers.snapshot(),
    log,
  });
  rt.breakerChange.notify = presence.breakersChanged;
  const { workerId, queueName: queue, concurrency, tags } = config;
  log.info({ workerId, queue, concurrency, tags }, 'executor started');
  return {
    metricsPort: config.metricsPort > 0 ? config.metricsPort : undefined,
    async stop(graceMs) {
      // Order matters: no new jobs, running ones get the grace period and then are handed
      // over while leases are still renewed and node clients open; then everything closes.
      await rt.engine.drain(() => consumers.close(), graceMs);
      await settledWithin(Promise.allSettled([presence.stop(), reporter.stop()]), CLOSE_WAIT_MS);
      rt.engine.close();
      // Redis commands retry for ever while Redis is down: bound each step, then disconnect.
      await settledWithin(subscription.unsubscribe(), CLOSE_WAIT_MS);
      server?.close();
      await settledWithin(Promise.allSettled([rt.q.close(), rt.registry.close()]), CLOSE_WAIT_MS);
      for (const redis of [c.workerRedis, c.producerRedis, c.subscriberRedis]) redis.disconnect();
      await c.db.close();
    },
  };
}
