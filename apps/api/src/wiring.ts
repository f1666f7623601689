import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from '@linkflow/queue';
import { uuidv7 } from 'uuidv7';
import type { Clock, IdGen, SecretsKeys } from '@linkflow/domain';
import type { NodeRegistry } from '@linkflow/nodes';
import {
  assertNoEviction,
  createDeadLetterQueue,
  createExecutionQueues,
  createBreakerBoard,
  createMetricsBoard,
  createWorkerRegistry,
  readQueueSnapshot,
  type DeadLetterQueue,
  type ExecutionQueue,
} from '@linkflow/queue';
import {
  createApiKeyRepository,
  createCostReportRepository,
  createCredentialStore,
  createSecretCipher,
  createDeadLetterStore,
  createChildExecutionStore,
  createExecutionRepository,
  createLogRepository,
  createRecoveryRepository,
  createTenantDirectory,
  createWorkflowRepository,
  type Db,
} from '@linkflow/store';
import { createApiMetrics } from '@linkflow/telemetry';
import { createQueueSignals } from './adapters/queue-signals.ts';
import type { AppDeps } from './app.ts';
import { cachedAuthenticator } from './auth/auth.ts';
import type { WsConfig } from './config.ts';
import { createEventHub } from './executions/stream/event-hub.ts';

/** The clients a running API holds (main.ts owns their lifecycle). */
export interface ApiClients {
  readonly db: Db;
  readonly redis: Redis;
  /** A connection dedicated to pub/sub (`role: 'subscriber'`): the log streams' one subscriber. */
  readonly subscriber: Redis;
  readonly ws: WsConfig;
  readonly queue: ExecutionQueue;
  /** The queue's DLQ, read for `linkflow_dlq_size`; recover removes an execution's entry. */
  readonly dlq: Pick<DeadLetterQueue, 'size' | 'remove'>;
  readonly registry: NodeRegistry;
  readonly logger: FastifyBaseLogger;
  readonly bodyLimit: number;
  /** Cache authenticated keys (production); tests turn it off to see revocations at once. */
  readonly cacheKeys: boolean;
  /** LINKFLOW_SECRETS_KEY[_PREVIOUS]: without a current key, credential writes answer 503. */
  readonly secretsKeys: SecretsKeys;
}

/** Builds `buildApp`'s dependencies from the clients: repositories, signals, probes, metrics. */
/** How long a scrape waits for the executors' fresh metrics (an executor answers in ms). */
const FLEET_WAIT_MS = 500;
/** Each Redis step of a collect: a scrape answers within about a second with Redis down. */
const FLEET_OPERATION_TIMEOUT_MS = 1_000;

/** The executors' metrics for `/metrics`, asked of every executor of the queue set at scrape. */
function fleetMetrics(redis: Redis, queueName: string, logger: FastifyBaseLogger) {
  const board = createMetricsBoard({
    connection: redis,
    name: queueName,
    operationTimeoutMs: FLEET_OPERATION_TIMEOUT_MS,
  });
  return {
    collect: () => board.collect(FLEET_WAIT_MS),
    onError: (err: unknown) => logger.warn({ err }, 'executor metrics unavailable for this scrape'),
  };
}

export function wireApiDeps(clients: ApiClients): AppDeps {
  const { db, redis, queue } = clients;
  const ids: IdGen = { next: () => uuidv7() };
  const clock: Clock = { now: () => new Date() };
  const keys = createApiKeyRepository({ prisma: db.prisma, ids });
  const executions = createExecutionRepository({ pool: db.pool });
  const hub = createEventHub({
    subscriber: clients.subscriber,
    readState: (id) => executions.streamState(id),
    checkIntervalMs: clients.ws.checkIntervalMs,
    log: clients.logger,
  });
  // Executions go to the queue of their workflow's worker_tags (the base queue when untagged).
  const queues = createExecutionQueues({ base: queue, connection: redis });
  return {
    logger: clients.logger,
    bodyLimit: clients.bodyLimit,
    authenticator: clients.cacheKeys ? cachedAuthenticator(keys) : keys,
    workflows: createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids }),
    executions,
    children: createChildExecutionStore({ pool: db.pool }),
    tenants: createTenantDirectory({ pool: db.pool }),
    credentials: createCredentialStore({
      pool: db.pool,
      ids,
      cipher: createSecretCipher(clients.secretsKeys),
    }),
    logs: createLogRepository({ pool: db.pool }),
    hub,
    ws: clients.ws,
    recovery: createRecoveryRepository({ pool: db.pool }),
    costs: createCostReportRepository({ pool: db.pool }),
    deadLetters: clients.dlq,
    registry: clients.registry,
    queue: queues,
    signals: createQueueSignals({ redis, queue: queues }),
    probes: {
      postgres: () => db.pool.query('select 1'),
      redis: () => redis.ping(),
      redis_policy: () => assertNoEviction(redis),
    },
    metrics: createApiMetrics({
      queue: {
        read: () => readQueueSnapshot({ queue, dlq: clients.dlq }),
        onError: (err) => clients.logger.warn({ err }, 'queue metrics unavailable for this scrape'),
      },
    }),
    fleet: fleetMetrics(redis, queue.name, clients.logger),
    admin: {
      queues,
      dlq: createDeadLetterQueue({ connection: redis, name: queue.name }),
      workers: createWorkerRegistry({ connection: redis, name: queue.name }),
      breakers: createBreakerBoard({ connection: redis, name: queue.name }),
      deadLetters: createDeadLetterStore({ pool: db.pool }),
      redis,
      clock,
    },
    ids,
    clock,
  };
}
