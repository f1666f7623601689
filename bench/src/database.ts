import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { BenchError } from './bench-error.ts';
import { REPO_ROOT } from './options.ts';

/** The fresh database one run uses; `drop()` removes it (FORCE closes leftover sessions). */
export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

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

/** `prisma migrate deploy` through the repo's CLI, as test/global-setup.ts does. */
async function migrate(databaseUrl: string): Promise<void> {
  const cli = path.join(REPO_ROOT, 'node_modules', 'prisma', 'build', 'index.js');
  try {
    await promisify(execFile)(process.execPath, [cli, 'migrate', 'deploy'], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1' },
      timeout: 120_000,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new BenchError(`prisma migrate deploy failed:\n${stdout}\n${stderr}`, { cause: error });
  }
}

/**
 * Creates `linkflow_bench_<random>` on the server of `baseUrl` and migrates it.
 * @throws BenchError when migration fails (the database is dropped again)
 */
export async function createBenchDatabase(baseUrl: string): Promise<BenchDatabase> {
  const name = `linkflow_bench_${randomBytes(6).toString('hex')}`;
  const drop = () => runOnServer(baseUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await runOnServer(baseUrl, `CREATE DATABASE "${name}"`);
  try {
    await migrate(databaseUrlFor(baseUrl, name));
  } catch (error) {
    await drop();
    throw error;
  }
  return { name, url: databaseUrlFor(baseUrl, name), drop };
}

/** Execution timestamps as the executor and the API wrote them (ms resolution). */
export interface ExecutionTimes {
  readonly status: string;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

const TERMINAL = new Set(['success', 'failed', 'cancelled']);

/** True for statuses an execution never leaves. */
export function isTerminal(status: string): boolean {
  return TERMINAL.has(status);
}

/** One execution's status and timestamps, or undefined when it does not exist. */
export async function readExecution(
  pool: pg.Pool,
  id: string,
): Promise<ExecutionTimes | undefined> {
  const { rows } = await pool.query<{
    status: string;
    created_at: Date;
    started_at: Date | null;
    finished_at: Date | null;
  }>('select status, created_at, started_at, finished_at from executions where id = $1', [id]);
  const row = rows[0];
  if (!row) return undefined;
  return {
    status: row.status,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** Counts per status of one workflow's executions, and the last `finished_at`. */
export interface WorkflowProgress {
  readonly counts: Readonly<Record<string, number>>;
  readonly terminal: number;
  readonly lastFinishedAt: Date | null;
}

export async function readProgress(pool: pg.Pool, workflowId: string): Promise<WorkflowProgress> {
  const { rows } = await pool.query<{ status: string; n: number; last: Date | null }>(
    `select status, count(*)::int as n, max(finished_at) as last
       from executions where workflow_id = $1 group by status`,
    [workflowId],
  );
  const counts: Record<string, number> = {};
  let terminal = 0;
  let lastFinishedAt: Date | null = null;
  for (const row of rows) {
    counts[row.status] = row.n;
    if (isTerminal(row.status)) terminal += row.n;
    if (row.last && (!lastFinishedAt || row.last > lastFinishedAt)) lastFinishedAt = row.last;
  }
  return { counts, terminal, lastFinishedAt };
}

/** How many executions of the workflow are still pending or running. */
export async function countOutstanding(pool: pg.Pool, workflowId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `select count(*)::int as n from executions
      where workflow_id = $1 and status in ('pending', 'running')`,
    [workflowId],
  );
  return rows[0]?.n ?? 0;
}

/** First error of a failed execution of the workflow (for the failure message). */
export async function sampleFailure(pool: pg.Pool, workflowId: string): Promise<string> {
  const { rows } = await pool.query<{ id: string; status: string; error: unknown }>(
    `select id, status, error from executions
      where workflow_id = $1 and status in ('failed', 'cancelled') limit 1`,
    [workflowId],
  );
  const row = rows[0];
  return row ? `${row.id} ${row.status}: ${JSON.stringify(row.error)}` : 'none';
}
