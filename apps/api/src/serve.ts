import { checkDbConnectionsAtStartup, createBuiltinRegistry } from '@linkflow/nodes';
import { createDeadLetterQueue, createExecutionQueue, createRedis } from '@linkflow/queue';
import { createDb, createSecretCipher, secretsKeyIssues, type Db } from '@linkflow/store';
import { exitWithConfigIssues, joinClusterMetrics } from '@linkflow/telemetry';
import cluster from 'node:cluster';
import type { FastifyBaseLogger } from 'fastify';
import { buildApp } from './app.ts';
import type { ApiConfig } from './config.ts';
import { tracing } from './instrumentation.ts';
import { wireApiDeps } from './wiring.ts';

/** Exits 78 on a privileged `db` connection or a wrong secrets key; else the open database. */
async function checkedDb(config: ApiConfig, logger: FastifyBaseLogger): Promise<Db> {
  // Refuses (exit 78) a db connection whose role is privileged, before serving anything.
  const dbCheck = await checkDbConnectionsAtStartup(config.dbConnections, {
    allowPrivileged: config.dbAllowPrivileged,
  });
  for (const w of dbCheck.warnings)
    logger.warn({ connection: w.connection, reason: w.reason }, w.message);
  if (dbCheck.issues.length > 0) exitWithConfigIssues('linkflow-api', dbCheck.issues);
  const db = createDb({ url: config.databaseUrl, maxConnections: 20 });
  // A wrong secrets key (exit 78) before a PUT writes values under it beside ones it cannot open.
  const keyIssues = await secretsKeyIssues({
    pool: db.pool,
    cipher: createSecretCipher(config.secretsKeys),
  });
  if (keyIssues.length > 0) exitWithConfigIssues('linkflow-api', keyIssues);
  return db;
}

/** Runs `close` once on SIGTERM or SIGINT, then exits 0. */
function closeOnSignals(logger: FastifyBaseLogger, close: () => Promise<void>): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    // A cluster worker gets Ctrl-C's SIGINT from the terminal and the primary's too: stop once.
    if (stopping) return;
    stopping = true;
    logger.info({ signal, pid: process.pid }, 'shutting down');
    await close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** One API process: this process alone (API_WORKERS=1) or one cluster worker. */
export async function serve(config: ApiConfig, logger: FastifyBaseLogger): Promise<void> {
  tracing.onExportError((err, failedBatches) =>
    logger.warn({ err, failedBatches }, 'trace export failed; spans dropped'),
  );
  const db = await checkedDb(config, logger);
  const redis = createRedis(config.redisUrl, {
    role: 'producer',
    connectionName: 'linkflow-api',
    onError: (err) => logger.warn({ err }, 'redis error'),
  });
  // Log streams share one pub/sub connection (a subscribed connection can run nothing else).
  const subscriber = createRedis(config.redisUrl, {
    role: 'subscriber',
    connectionName: 'linkflow-api-streams',
    onError: (err) => logger.warn({ err }, 'redis subscriber error'),
  });
  const queue = createExecutionQueue({ connection: redis, name: config.queueName });
  const dlq = createDeadLetterQueue({ connection: redis, name: config.queueName });
  const registry = createBuiltinRegistry({
    enabled: config.nodeTypes,
    httpAllow: config.httpAllow,
    dbConnections: config.dbConnections,
    dbAllowPrivileged: config.dbAllowPrivileged,
    codePoolSize: 0,
  });
  const deps = wireApiDeps({
    ...{ db, redis, subscriber, ws: config.ws, queue, dlq, registry, logger },
    ...{ bodyLimit: config.bodyLimit, cacheKeys: true, secretsKeys: config.secretsKeys },
  });
  // A cluster worker's /metrics answers for every worker (the primary merges them).
  const clustered = cluster.isWorker ? joinClusterMetrics(deps.metrics.registry) : undefined;
  const app = await buildApp({ ...deps, scrape: clustered && (() => clustered.metrics()) });
  closeOnSignals(logger, async () => {
    await app.close();
    await Promise.allSettled([queue.close(), dlq.close(), registry.close()]);
    redis.disconnect();
    subscriber.disconnect();
    await db.close();
    await tracing.shutdown();
  });
  await app.listen({ port: config.port, host: config.host });
}
