import { createBuiltinRegistry } from '@linkflow/nodes';
import { createExecutionQueue, createRedis } from '@linkflow/queue';
import { createDb } from '@linkflow/store';
import { createLogger, startTracing } from '@linkflow/telemetry';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { wireApiDeps } from './wiring.ts';

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
  const app = await buildApp(
    wireApiDeps({
      db,
      redis,
      queue,
      registry,
      logger,
      bodyLimit: config.bodyLimit,
      cacheKeys: true,
    }),
  );
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
