import { uuidv7 } from 'uuidv7';
import type { Clock, IdGen } from '@linkflow/domain';
import { createBuiltinRegistry } from '@linkflow/nodes';
import { createExecutionQueue, createRedis } from '@linkflow/queue';
import {
  createApiKeyRepository,
  createDb,
  createExecutionRepository,
  createLogRepository,
  createWorkflowRepository,
} from '@linkflow/store';
import { createLogger, createMetrics, startTracing } from '@linkflow/telemetry';
import { buildApp } from './app.ts';
import { cachedAuthenticator } from './auth/auth.ts';
import { createQueueSignals } from './adapters/queue-signals.ts';
import { ConfigError, loadConfig } from './config.ts';

const EX_CONFIG = 78;

function configOrExit() {
  try {
    return loadConfig(process.env);
  } catch (err) {
    const issues = err instanceof ConfigError ? err.issues : [String(err)];
    process.stderr.write(
      `linkflow-api: invalid configuration\n${issues.map((i) => `  ${i}`).join('\n')}\n`,
    );
    process.exit(EX_CONFIG);
  }
}

async function main(): Promise<void> {
  const config = configOrExit();
  const tracing = startTracing({
    serviceName: 'linkflow-api',
    ...(config.otlpEndpoint ? { otlpEndpoint: config.otlpEndpoint } : {}),
  });
  const logger = createLogger({ level: config.logLevel, name: 'linkflow-api' });
  const ids: IdGen = { next: () => uuidv7() };
  const clock: Clock = { now: () => new Date() };
  const db = createDb({ url: config.databaseUrl, maxConnections: 20 });
  const redis = createRedis(config.redisUrl, {
    role: 'producer',
    connectionName: 'linkflow-api',
    onError: (err) => logger.warn({ err }, 'redis error'),
  });
  const queue = createExecutionQueue({ connection: redis, name: config.queueName });
  const registry = createBuiltinRegistry({
    enabled: config.nodeTypes,
    httpAllow: config.httpAllow,
    dbConnections: config.dbConnections,
    codePoolSize: 0,
  });
  const app = await buildApp({
    logger,
    bodyLimit: config.bodyLimit,
    authenticator: cachedAuthenticator(createApiKeyRepository({ prisma: db.prisma, ids })),
    workflows: createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids }),
    executions: createExecutionRepository({ pool: db.pool }),
    logs: createLogRepository({ pool: db.pool }),
    registry,
    queue,
    signals: createQueueSignals({ redis, queue }),
    probes: { postgres: () => db.pool.query('select 1'), redis: () => redis.ping() },
    metrics: createMetrics(),
    ids,
    clock,
  });
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await app.close();
    await Promise.allSettled([queue.close(), registry.close()]);
    redis.disconnect();
    await db.close();
    await tracing.shutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
}

await main();
