import type pg from 'pg';
import { COST_ROLLUP_BACKFILL_SQL, rollupCtes, TERMINAL_LIST } from './cost-rollup-sql.ts';

const ROLL_UP_SQL = `with x as (
    select id, tenant_id, workflow_id, created_at, cost_total from executions
    where id = any($1::text[]) and status in ${TERMINAL_LIST}
  ), ${rollupCtes('x', 1)}
  select count(*)::int as n from x`;

/**
 * Adds terminal executions that reached their status without a terminal write of the run
 * store or the API (rows imported or seeded directly, or finished by a process that
 * predates the rollups) to the cost rollups. Not idempotent: an execution already rolled
 * up would count twice. Returns how many were added.
 */
export async function rollUpExecutions(
  pool: pg.Pool | pg.PoolClient,
  ids: readonly string[],
): Promise<number> {
  const res = await pool.query<{ n: number }>(ROLL_UP_SQL, [ids]);
  return res.rows[0]?.n ?? 0;
}

/**
 * Rebuilds the cost rollups from every terminal execution (the migration's backfill, for
 * databases filled without terminal writes, e.g. benchmarks): empties them first, in one
 * transaction.
 */
export async function rebuildCostRollups(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let failed: unknown;
  try {
    await client.query('begin');
    await client.query('truncate cost_rollups, node_cost_rollups');
    for (const sql of COST_ROLLUP_BACKFILL_SQL) await client.query(sql);
    await client.query('commit');
  } catch (error) {
    failed = error;
    throw error;
  } finally {
    client.release(failed === undefined ? undefined : true);
  }
}
