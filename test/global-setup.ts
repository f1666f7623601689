// Vitest globalSetup for the `integration` project: one fresh, migrated Postgres database per
// run, dropped afterwards. Tests read its URL with `testDatabaseUrl()` from ./fixtures.ts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of this run's migrated test database. */
    databaseUrl: string;
    /** Redis for integration tests; isolate with per-test key prefixes / queue names. */
    redisUrl: string;
  }
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_BASE_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function databaseUrlFor(baseUrl: string, name: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function runOnServer(baseUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** `prisma migrate deploy` through the repo's Prisma CLI (prisma.config.ts sets the offline engine). */
async function migrate(databaseUrl: string): Promise<void> {
  const cli = path.join(repoRoot, 'node_modules', 'prisma', 'build', 'index.js');
  try {
    await promisify(execFile)(process.execPath, [cli, 'migrate', 'deploy'], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' },
      timeout: 60_000,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`prisma migrate deploy failed for the test database:\n${stdout}\n${stderr}`, {
      cause: error,
    });
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const startedAt = performance.now();
  const baseUrl = process.env.TEST_DATABASE_BASE_URL ?? DEFAULT_BASE_URL;
  const name = `linkflow_test_${randomBytes(6).toString('hex')}`;
  const databaseUrl = databaseUrlFor(baseUrl, name);
  const dropDatabase = () => runOnServer(baseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);

  await runOnServer(baseUrl, `CREATE DATABASE "${name}"`);
  try {
    await migrate(databaseUrl);
  } catch (error) {
    await dropDatabase();
    throw error;
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', process.env.TEST_REDIS_URL ?? DEFAULT_REDIS_URL);
  if (process.env.TEST_SETUP_TIMING) {
    console.info(`test database ${name} ready in ${Math.round(performance.now() - startedAt)} ms`);
  }
  return dropDatabase;
}
