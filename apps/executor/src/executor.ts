import { trace } from '@opentelemetry/api';
import { configSecretValues, type Clock, type LiveSecrets } from '@linkflow/domain';
import { createEngine, settledWithin } from '@linkflow/engine';
import { createBuiltinRegistry } from '@linkflow/nodes';
import {
  assertNoEviction,
  createDeadLetterQueue,
  createEventPublisher,
  createExecutionQueue,
  createExecutionQueues,
  createRedis,
  createBreakerBoard,
  createWorkerRegistry,
  readQueueSnapshot,
  runQueueOperation,
} from '@linkflow/queue';
import {
  createChildExecutionStore,
  createDb,
  createLeaderLock,
  createLeaseStore,
  createRetentionStore,
  createRunStore,
  createSecretCipher,
  createTenantDirectory,
} from '@linkflow/store';
import {
  createExecutorMetrics,
  runReadinessChecks,
  startHealthServer,
  type Logger,
} from '@linkflow/telemetry';
import { childExecutionPort } from './adapters/child-executions.ts';
import { engineMetrics, jobQueuePort } from './adapters/engine-ports.ts';
import { createEngineTracing } from './adapters/engine-tracing.ts';
import { credentialPort } from './adapters/credential-port.ts';
import { listenForControl } from './adapters/control-listener.ts';
import { startBreakerPublisher } from './adapters/breaker-publisher.ts';
import { startWorkerHeartbeat } from './adapters/worker-heartbeat.ts';
import type { ExecutorConfig } from './config.ts';
import { createQueueConsumers, type QueueConsumers } from './queue-consumers.ts';

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
  const queue = createExecutionQueue({ connection: c.producerRedis, name: config.queueName });
  const dlq = createDeadLetterQueue({ connection: c.producerRedis, name: config.queueName });
  const metrics = createExecutorMetrics({
    maxWorkflows: config.metricsMaxWorkflows,
    maxTargets: config.metricsMaxTargets,
    queue: {
      read: () => readQueueSnapshot({ queue, dlq }),
      onError: (err) => log.warn({ err }, 'queue metrics unavailable for this scrape'),
    },
  });
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
  const { workerId, leaseMs } = config;
  // Bound once the breaker publisher runs (after the engine exists).
  const breakerChange = { notify: () => {} };
  const queues = createExecutionQueues({ base: queue, connection: c.producerRedis });
  const engine = createEngine({
    runStore: createRunStore({ pool: c.db.pool, workerId, leaseMs }),
    leases: createLeaseStore({ pool: c.db.pool, leaseMs }),
    registry,
    events: createEventPublisher(c.producerRedis, (err) =>
      log.debug({ err }, 'event publish failed'),
    ),
    dlq,
    clock,
    log,
    workerId,
    limits: config,
    breakerOptions: config.breaker,
    onBreakerChange: () => breakerChange.notify(),
    metrics: engineMetrics(metrics),
    // The global tracer: a no-op until instrumentation.ts has started the SDK.
    tracing: createEngineTracing(trace.getTracer('linkflow-executor')),
    secretValues: configSecretValues(config),
    // Without LINKFLOW_SECRETS_KEY the port answers every resolution with VALIDATION.
    credentials: credentialPort({
      pool: c.db.pool,
      cipher: createSecretCipher(config.secretsKeys),
    }),
    ...(liveSecrets && { liveSecrets }),
    children: childExecutionPort(
      createChildExecutionStore({ pool: c.db.pool }),
      c.producerRedis,
      log,
    ),
    sweep: {
      queue: jobQueuePort(queues),
      lock: createLeaderLock({
        url: config.databaseUrl,
        name: `sweeper:${config.queueName}`,
        applicationName: `linkflow-sweeper:${config.workerId}`,
        // Three missed passes (at least 30 s) and a frozen leader hands sweeping on.
        staleAfterMs: Math.max(3 * config.reconcileIntervalMs, 30_000),
        onError: (err) => log.debug({ err }, 'sweeper lock connection failed'),
      }),
      options: { intervalMs: config.reconcileIntervalMs, pendingGraceMs: config.reconcileAfterMs },
    },
    retention: {
      store: createRetentionStore({ pool: c.db.pool }),
      lock: createLeaderLock({
        url: config.databaseUrl,
        name: 'retention',
        applicationName: `linkflow-retention:${config.workerId}`,
        staleAfterMs: Math.max(3 * config.retentionIntervalMs, 30_000),
        onError: (err) => log.debug({ err }, 'retention lock connection failed'),
      }),
      options: {
        days: config.retentionDays,
        intervalMs: config.retentionIntervalMs,
        batchSize: 100,
        maxBatches: 100,
        deleteExecutions: config.retentionDeleteExecutions,
      },
    },
  });
  return { engine, metrics, registry, queue, queues, dlq, breakerChange };
}

type Runtime = ReturnType<typeof buildEngine>;

function startHealth(config: ExecutorConfig, log: Logger, c: Connections, rt: Runtime) {
  const loop: { current?: Pick<QueueConsumers, 'running'> } = {};
  if (config.metricsPort === 0) return { server: Promise.resolve(undefined), loop };
  // Each probe gets a deadline: the worker connection waits for Redis for ever, and an
  // unanswered readiness request would look like a hung process rather than "not ready".
  const bounded = (operation: string, probe: () => Promise<unknown>) => () =>
    runQueueOperation({ operation, queue: config.queueName, timeoutMs: PROBE_TIMEOUT_MS }, probe);
  const probes = {
    postgres: bounded('ready.postgres', () => c.db.pool.query('select 1')),
    redis: bounded('ready.redis', () => c.workerRedis.ping()),
    redis_policy: bounded('ready.redis_policy', () => assertNoEviction(c.producerRedis)),
  };
  const ready = async () => ({
    ...(await runReadinessChecks(probes, () => rt.registry.health(), log)),
    worker: loop.current?.running === false ? ('unavailable' as const) : ('ok' as const),
  });
  const { metricsPort: port, metricsHost: host } = config;
  const registry = rt.metrics.registry;
  return { server: startHealthServer({ port, host, registry, ready, log }), loop };
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
  const consumers = createQueueConsumers({
    engine: rt.engine,
    queues: rt.queues,
    config,
    workerRedis: c.workerRedis,
    producerRedis: c.producerRedis,
    log,
    onFatal: (e) => options.onFatal?.(e),
  });
  const health = startHealth(config, log, c, rt);
  const server = await health.server;
  // The untagged queue at once; tag-set queues as the heartbeat finds them.
  await settledWithin(consumers.refresh(), CLOSE_WAIT_MS);
  health.loop.current = consumers;
  const heartbeat = startWorkerHeartbeat({
    registry: createWorkerRegistry({ connection: c.producerRedis, name: config.queueName }),
    id: config.workerId,
    concurrency: config.concurrency,
    tags: config.tags,
    intervalMs: config.heartbeatMs,
    running: () => rt.engine.runs.size,
    onTick: () => consumers.refresh(),
    log,
  });
  const breakers = startBreakerPublisher({
    board: createBreakerBoard({ connection: c.producerRedis, name: config.queueName }),
    id: config.workerId,
    snapshot: () => rt.engine.breakers.snapshot(),
    intervalMs: config.heartbeatMs,
    log,
  });
  rt.breakerChange.notify = breakers.changed;
  log.info(
    {
      workerId: config.workerId,
      queue: config.queueName,
      concurrency: config.concurrency,
      tags: config.tags,
    },
    'executor started',
  );
  return {
    metricsPort: config.metricsPort > 0 ? config.metricsPort : undefined,
    async stop(graceMs) {
      // Order matters: no new jobs, running ones get the grace period and then are handed
      // over while leases are still renewed and node clients open; then everything closes.
      await rt.engine.drain(() => consumers.close(), graceMs);
      await settledWithin(Promise.all([heartbeat.stop(), breakers.stop()]), CLOSE_WAIT_MS);
      rt.engine.close();
      // Redis commands retry for ever while Redis is down: bound each step, then disconnect.
      await settledWithin(subscription.unsubscribe(), CLOSE_WAIT_MS);
      server?.close();
      await settledWithin(
        Promise.allSettled([
          rt.queues.close(),
          rt.queue.close(),
          rt.dlq.close(),
          rt.registry.close(),
        ]),
        CLOSE_WAIT_MS,
      );
      for (const redis of [c.workerRedis, c.producerRedis, c.subscriberRedis]) redis.disconnect();
      await c.db.close();
    },
  };
}
