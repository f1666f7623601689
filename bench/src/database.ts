import type pg from 'pg';
import { createScratchDatabase, type ScratchDatabase } from '../../scripts/scratch-database.ts';

/** The fresh database one run uses; `drop()` removes it (FORCE closes leftover sessions). */
export type BenchDatabase = ScratchDatabase;

/**
 * Creates `linkflow_bench_<random>` on the server of `baseUrl` and migrates it.
 * @throws AppError when migration fails (the database is dropped again)
 */
export async function createBenchDatabase(baseUrl: string): Promise<BenchDatabase> {
  return createScratchDatabase({ baseUrl, prefix: 'linkflow_bench' });
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
