// Vitest globalSetup for the `integration` project: one fresh, migrated Postgres database per
// run, dropped afterwards. Tests read its URL with `testDatabaseUrl()` from ./fixtures.ts.
import type { TestProject } from 'vitest/node';
import { createScratchDatabase } from '../scripts/scratch-database.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of this run's migrated test database. */
    databaseUrl: string;
    /** Redis for integration tests; isolate with per-test key prefixes / queue names. */
    redisUrl: string;
  }
}

const DEFAULT_BASE_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = performance.now();
  const baseUrl = process.env.TEST_DATABASE_BASE_URL ?? DEFAULT_BASE_URL;
  const db = await createScratchDatabase({ baseUrl, prefix: 'linkflow_test', timeoutMs: 60_000 });
  project.provide('databaseUrl', db.url);
  project.provide('redisUrl', process.env.TEST_REDIS_URL ?? DEFAULT_REDIS_URL);
  if (process.env.TEST_SETUP_TIMING) {
    console.info(
      `test database ${db.name} ready in ${Math.round(performance.now() - startedAt)} ms`,
    );
  }
  return db.drop;
}
