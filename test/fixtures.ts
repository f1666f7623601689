// Helpers for integration tests (`*.int.test.ts`); values come from ./global-setup.ts.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

/** URL of this run's migrated Postgres test database (shared by all integration test files). */
export function testDatabaseUrl(): string {
  return inject('databaseUrl');
}

/** Redis URL for integration tests. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/**
 * The environment of an API or executor process a test spawns: this test run's database and
 * Redis, a fresh queue of its own, the API on `port` of the loopback interface.
 */
export function serviceEnv(port: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: testRedisUrl(),
    LINKFLOW_QUEUE: `t-${randomUUID()}`,
    API_PORT: String(port),
    API_HOST: '127.0.0.1',
  };
}
