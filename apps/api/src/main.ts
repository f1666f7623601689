// First: the OpenTelemetry SDK starts before any instrumented module loads.
import { tracing } from './instrumentation.ts';
import { configSecretValues } from '@linkflow/domain';
import { checkDbConnectionsAtStartup, createBuiltinRegistry } from '@linkflow/nodes';
import { createDeadLetterQueue, createExecutionQueue, createRedis } from '@linkflow/queue';
import { createDb, createSecretCipher, secretsKeyIssues } from '@linkflow/store';
import { createLogger, exitWithConfigIssues, loadConfigOrExit } from '@linkflow/telemetry';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { wireApiDeps } from './wiring.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit('linkflow-api', () => loadConfig(process.env));
  const logger = createLogger({
    level: config.logLevel,
    name: 'linkflow-api',
    secretValues: configSecretValues(config),
  });
  tracing.onExportError((err, failedBatches) =>
    logger.warn({ err, failedBatches }, 'trace export failed; spans dropped'),
  );
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
  const app = await buildApp(
    wireApiDeps({
      db,
      redis,
      subscriber,
      ws: config.ws,
      queue,
      dlq,
      registry,
      logger,
      bodyLimit: config.bodyLimit,
      cacheKeys: true,
      secretsKeys: config.secretsKeys,
    }),
  );
  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await app.close();
    await Promise.allSettled([queue.close(), dlq.close(), registry.close()]);
    redis.disconnect();
    subscriber.disconnect();
    await db.close();
    await tracing.shutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
}

await main();
