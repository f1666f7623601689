import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '@linkflow/nodes';
import { createDeadLetterQueue, createExecutionQueue, createRedis } from '@linkflow/queue';
import { createDb } from '@linkflow/store';
import { createLogger } from '@linkflow/telemetry';
import type { FastifyInstance } from 'fastify';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { buildApp } from '../app.ts';
import { TEST_WS } from '../testing/api-harness.ts';
import { wireApiDeps } from '../wiring.ts';

/** A port nothing listens on: Redis is "gone" for the whole test. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

let app: FastifyInstance;
let close: () => Promise<void>;
beforeAll(async () => {
  const db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
  const gone = `redis://127.0.0.1:${await closedPort()}`;
  const redis = createRedis(gone, { role: 'producer' });
  const subscriber = createRedis(gone, { role: 'subscriber', onError: () => undefined });
  const queue = createExecutionQueue({ connection: redis, name: 'gone' });
  const dlq = createDeadLetterQueue({ connection: redis, name: 'gone' });
  const registry = createBuiltinRegistry({ httpAllow: [], dbConnections: {}, codePoolSize: 0 });
  const logger = createLogger({ level: 'silent', name: 'api-test' });
  const bodyLimit = 1024 * 1024;
  const deps = wireApiDeps({
    db,
    redis,
    subscriber,
    ws: TEST_WS,
    queue,
    dlq,
    registry,
    logger,
    bodyLimit,
    cacheKeys: false,
    secretsKeys: { current: undefined, previous: undefined },
  });
  app = await buildApp(deps);
  close = async () => {
    await app.close();
    redis.disconnect();
    subscriber.disconnect();
    await db.close();
  };
});
afterAll(async () => close());

describe('API /metrics while Redis is unreachable', () => {
  it('answers 200 within the queue timeout, without queue samples, other metrics intact', async () => {
    const began = Date.now();
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    const tookMs = Date.now() - began;

    expect(res.statusCode).toBe(200);
    expect(tookMs).toBeLessThan(3_000);
    expect(res.body).toContain('# TYPE linkflow_queue_jobs gauge');
    expect(res.body).not.toMatch(/^linkflow_queue_jobs\{/m);
    expect(res.body).not.toMatch(/^linkflow_dlq_size /m);
    expect(res.body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(res.body).toContain('# TYPE linkflow_http_requests_total counter');
  });
});
