import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { DbConnectionConfig, SecretsKeys } from '@linkflow/domain';
import { uuidv7 } from 'uuidv7';
import { createBuiltinRegistry } from '@linkflow/nodes';
import {
  createDeadLetterQueue,
  createExecutionQueue,
  createRedis,
  type DeadLetterQueue,
  type ExecutionQueue,
} from '@linkflow/queue';
import { createApiKeyRepository, createDb, type Db } from '@linkflow/store';
import { createLogger } from '@linkflow/telemetry';
import type { Redis } from '@linkflow/queue';
import { testDatabaseUrl, testRedisUrl } from '../../../../test/fixtures.ts';
import { buildApp } from '../app.ts';
import { wireApiDeps } from '../wiring.ts';
import type { ExecutionSignals } from '../executions/execution-routes.ts';
import type { Scope } from '../auth/auth.ts';
import type { WsConfig } from '../config.ts';
import type { EventHub } from '../executions/stream/event-hub.ts';
import type { FastifyBaseLogger } from 'fastify';

/** Stream settings for tests: any origin but one, a fast check. */
export const TEST_WS: WsConfig = {
  allowedOrigins: ['https://app.example'],
  maxBufferedBytes: 1024 * 1024,
  drainTimeoutMs: 5_000,
  checkIntervalMs: 500,
  maxStreamsPerTenant: 100,
};

/** The credential store key of API tests (32 bytes, base64); the executor helper uses it too. */
export const TEST_SECRETS_KEY = Buffer.alloc(32, 42).toString('base64');

/** A real API over the test database and a fresh queue, plus a tenant to call it as. */
export interface ApiHarness {
  readonly app: FastifyInstance;
  readonly db: Db;
  readonly queue: ExecutionQueue;
  /** The queue's dead-letter queue. */
  readonly dlq: DeadLetterQueue;
  readonly redis: Redis;
  /** The log streams' pub/sub connection. */
  readonly subscriber: Redis;
  readonly hub: EventHub;
  readonly tenantId: string;
  /** An admin key of the harness tenant. */
  readonly adminKey: string;
  keyFor(scopes: Scope[], tenantId?: string): Promise<string>;
  newTenant(): Promise<string>;
  request(
    method: string,
    url: string,
    options?: { key?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function createApiHarness(
  options: {
    bodyLimit?: number;
    nodeTypes?: string[];
    signals?: Partial<ExecutionSignals>;
    /** LINKFLOW_DB_CONNECTIONS as parsed (default: `main` on the test database, every tenant). */
    dbConnections?: Readonly<Record<string, DbConnectionConfig>>;
    /** Share a queue with another harness or an executor (default: a fresh one). */
    queueName?: string;
    ws?: Partial<WsConfig>;
    /** Where the streams' subscriber connects (default: the test Redis). */
    subscriberUrl?: string;
    logger?: FastifyBaseLogger;
    /** The API's database URL (default: the test database), e.g. through a proxy. */
    databaseUrl?: string;
    /** Another Redis (default: the shared test Redis), e.g. a private one a test kills. */
    redisUrl?: string;
    /** The credential store's keys (default: {@link TEST_SECRETS_KEY}; `current` undefined: none). */
    secretsKeys?: SecretsKeys;
  } = {},
): Promise<ApiHarness> {
  const ids = { next: () => uuidv7() };
  const db = createDb({ url: options.databaseUrl ?? testDatabaseUrl(), maxConnections: 4 });
  const redis = createRedis(options.redisUrl ?? testRedisUrl(), { role: 'producer' });
  const subscriber = createRedis(options.subscriberUrl ?? testRedisUrl(), {
    role: 'subscriber',
    onError: () => undefined,
  });
  const queue = createExecutionQueue({
    connection: redis,
    name: options.queueName ?? `t-${randomUUID()}`,
  });
  const dlq = createDeadLetterQueue({ connection: redis, name: queue.name });
  const registry = createBuiltinRegistry({
    enabled: options.nodeTypes,
    httpAllow: [],
    dbConnections: options.dbConnections ?? { main: testDatabaseUrl() },
    codePoolSize: 0,
  });
  const logger = options.logger ?? createLogger({ level: 'silent', name: 'api-test' });
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const deps = wireApiDeps({
    db,
    redis,
    subscriber,
    ws: { ...TEST_WS, ...options.ws },
    queue,
    dlq,
    registry,
    logger,
    bodyLimit,
    cacheKeys: false,
    secretsKeys: options.secretsKeys ?? { current: TEST_SECRETS_KEY, previous: undefined },
  });
  const app = await buildApp({ ...deps, signals: { ...deps.signals, ...options.signals } });
  const keys = createApiKeyRepository({ prisma: db.prisma, ids });
  const newTenant = () => keys.ensureTenant(`t-${randomUUID()}`);
  const tenantId = await newTenant();
  const keyFor = async (scopes: Scope[], tenant = tenantId) =>
    (await keys.createKey(tenant, scopes)).key;
  const adminKey = await keyFor(['admin']);
  return {
    app,
    db,
    queue,
    dlq,
    redis,
    subscriber,
    hub: deps.hub,
    tenantId,
    adminKey,
    keyFor,
    newTenant,
    request(method, url, opts = {}) {
      const key = opts.key === undefined ? adminKey : opts.key;
      const headers: Record<string, string> = {
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        ...opts.headers,
      };
      const payload =
        opts.body === undefined
          ? undefined
          : typeof opts.body === 'string'
            ? opts.body
            : JSON.stringify(opts.body);
      if (payload !== undefined && headers['content-type'] === undefined)
        headers['content-type'] = 'application/json';
      return app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(payload === undefined ? {} : { payload }),
      });
    },
    async close() {
      await app.close();
      await queue.queue.obliterate({ force: true });
      await dlq.queue.obliterate({ force: true });
      await Promise.all([queue.close(), dlq.close()]);
      await registry.close();
      redis.disconnect();
      subscriber.disconnect();
      await db.close();
    },
  };
}

/** A small valid workflow: transform → condition → two branches. */
export function sampleWorkflow(name = 'sample') {
  return {
    name,
    nodes: [
      { id: 'double', type: 'transform', config: { expression: '{ "total": input.total * 2 }' } },
      { id: 'big', type: 'condition', config: { expression: 'nodes.double.total > 100' } },
      { id: 'yes', type: 'transform', config: { expression: '"big"' } },
      { id: 'no', type: 'transform', config: { expression: '"small"' } },
    ],
    edges: [
      { from: 'double', to: 'big' },
      { from: 'big', to: 'yes', when: 'true' },
      { from: 'big', to: 'no', when: 'false' },
    ],
  };
}
