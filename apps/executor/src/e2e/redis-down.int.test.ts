import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@linkflow/telemetry';
import { loadConfig } from '../config.ts';
import { startExecutor } from '../executor.ts';
import { createExecutorHarness, type ExecutorHarness } from '../testing/executor-harness.ts';

/** A free loopback port (the OS picks it; closed again before redis-server binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new TypeError('no port was assigned')),
      );
    });
  });
}

/** This test's own Redis, so it can be killed without touching the shared one. */
async function startPrivateRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const { createRedis } = await import('@linkflow/queue');
  const probe = createRedis(`redis://127.0.0.1:${port}`, { role: 'producer' });
  try {
    await expect.poll(() => probe.ping().catch(() => 'down'), { timeout: 10_000 }).toBe('PONG');
  } finally {
    probe.disconnect();
  }
  return child;
}

let harness: ExecutorHarness;
beforeAll(async () => {
  harness = await createExecutorHarness();
});
afterAll(async () => harness.close());

describe('executor shutdown while Redis is down', () => {
  it('stops within its bounds instead of waiting for Redis to come back', async () => {
    // ARRANGE: an executor on a private Redis, which then dies.
    const port = await freePort();
    const redis = await startPrivateRedis(port);
    const config = loadConfig({
      ...harness.env,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      LINKFLOW_QUEUE: `t-${randomUUID()}`,
      EXECUTOR_ID: `test-${randomUUID().slice(0, 8)}`,
    });
    const executor = await startExecutor(config, createLogger({ level: 'silent', name: 't' }));
    redis.kill('SIGKILL');
    await new Promise((resolve) => redis.once('exit', resolve));
    // ACT: stop it with a short grace.
    let stopped = false;
    const stopping = executor.stop(500).then(() => (stopped = true));
    // ASSERT: the process would exit; before, stop() waited until Redis returned.
    await expect.poll(() => stopped, { timeout: 30_000, interval: 200 }).toBe(true);
    await stopping;
  }, 60_000);
});
