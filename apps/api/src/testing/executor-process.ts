import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testDatabaseUrl, testRedisUrl } from '../../../../test/fixtures.ts';

/** The executor's entry point, run as a separate process (an app never imports another). */
const EXECUTOR_MAIN = fileURLToPath(new URL('../../../executor/src/main.ts', import.meta.url));

/**
 * A real executor process on `queueName` over the test database, for API tests that need
 * executions to run. Its reconciler is off: test files share one database. `baseEnv` is the
 * test's own environment (only tests and config read `process.env`).
 */
export function spawnExecutor(
  queueName: string,
  id: string,
  baseEnv: NodeJS.ProcessEnv,
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', EXECUTOR_MAIN], {
    env: {
      ...baseEnv,
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: testRedisUrl(),
      LINKFLOW_QUEUE: queueName,
      EXECUTOR_METRICS_PORT: '0',
      EXECUTOR_ID: `${id}-${process.pid}`,
      LINKFLOW_HTTP_ALLOW: '127.0.0.1',
      LOG_LEVEL: 'silent',
      EXECUTOR_RECONCILE_INTERVAL_MS: '86400000',
    },
    stdio: 'ignore',
  });
}

/** SIGTERMs `child` and resolves once it has exited. */
export function stopExecutor(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
