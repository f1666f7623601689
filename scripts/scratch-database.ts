/**
 * A fresh, migrated Postgres database for one test or benchmark run: created on the
 * server of `baseUrl`, migrated with the repo's Prisma CLI (offline engine from
 * prisma.config.ts), and dropped with `drop()` (FORCE closes leftover sessions).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { AppError } from '@linkflow/domain';

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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

async function migrate(databaseUrl: string, timeoutMs: number): Promise<void> {
  const cli = path.join(REPO_ROOT, 'node_modules', 'prisma', 'build', 'index.js');
  try {
    await promisify(execFile)(process.execPath, [cli, 'migrate', 'deploy'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' },
      timeout: timeoutMs,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new AppError(
      'SCRATCH_DB_MIGRATION_FAILED',
      `prisma migrate deploy failed:\n${stdout}\n${stderr}`,
      { kind: 'internal', cause: error },
    );
  }
}

/**
 * Creates `<prefix>_<random>` and migrates it; on a failed migration it is dropped again.
 * @throws AppError SCRATCH_DB_MIGRATION_FAILED
 */
export async function createScratchDatabase(options: {
  baseUrl: string;
  prefix: string;
  timeoutMs?: number;
}): Promise<ScratchDatabase> {
  const name = `${options.prefix}_${randomBytes(6).toString('hex')}`;
  const drop = () => runOnServer(options.baseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await runOnServer(options.baseUrl, `CREATE DATABASE "${name}"`);
  try {
    await migrate(databaseUrlFor(options.baseUrl, name), options.timeoutMs ?? 120_000);
  } catch (error) {
    await drop();
    throw error;
  }
  return { name, url: databaseUrlFor(options.baseUrl, name), drop };
}
