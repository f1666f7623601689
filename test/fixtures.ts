// Helpers for integration tests (`*.int.test.ts`); values come from ./global-setup.ts.
import { inject } from 'vitest';

/** URL of this run's migrated Postgres test database (shared by all integration test files). */
export function testDatabaseUrl(): string {
  return inject('databaseUrl');
}

/** Redis URL for integration tests. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}
