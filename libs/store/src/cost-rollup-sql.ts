/**
 * Cost rollups: what the cost report reads instead of scanning every execution and node run
 * of a period. `cost_rollups` counts terminal executions per (tenant, workflow, UTC creation
 * day, cost bucket) with their summed, cheapest and dearest cost; `node_cost_rollups` sums
 * their node runs per (tenant, workflow, day, node). Both are maintained in the SAME
 * statement as the write that makes an execution terminal (FINISH_SQL, MARK_DEAD_SQL, the
 * API's cancel) and undone by the one that takes it back (a recovery of a failed
 * execution): those writes are fenced, so a retried or stale write matches no execution and
 * adds nothing (exactly once). Rollups have no foreign keys: retention purges leave them.
 * Money sums are clamped into numeric(20,8) (see clampMoney) so a terminal write never
 * fails on overflow.
 */
import { EXECUTION_STATUSES, isTerminal } from '@linkflow/domain';
import { clampMoney } from './money-sql.ts';
import { sqlStatusList } from './status-sql.ts';

/** Buckets per doubling of cost: a bucket spans a factor 2^(1/8) (≈ 9.05 %). */
export const COST_BUCKETS_PER_OCTAVE = 8;
/** The bucket of executions that cost nothing (below every log bucket, 1e-8 USD is -213). */
export const ZERO_COST_BUCKET = -10_000;

/** Terminal statuses as an SQL list: the executions rollups hold. */
export const TERMINAL_LIST = sqlStatusList(EXECUTION_STATUSES.filter(isTerminal));

/** SQL: the cost bucket of a numeric cost expression. */
export const costBucket = (cost: string): string =>
  `(case when ${cost} > 0 then floor(ln(${cost}::float8) * ${COST_BUCKETS_PER_OCTAVE} / ln(2))::int else ${ZERO_COST_BUCKET} end)`;

/** SQL: the UTC day of a timestamptz expression (rollups are keyed by creation day). */
export const utcDay = (at: string): string => `((${at}) at time zone 'UTC')::date`;

const EXEC_CONFLICT = `on conflict (tenant_id, workflow_id, day, bucket) do update set
      executions = cost_rollups.executions + excluded.executions, total = ${clampMoney('cost_rollups.total + excluded.total')},
      min_cost = least(cost_rollups.min_cost, excluded.min_cost), max_cost = greatest(cost_rollups.max_cost, excluded.max_cost)`;

const NODE_CONFLICT = `on conflict (tenant_id, workflow_id, day, node_id) do update set
      type = least(node_cost_rollups.type, excluded.type), runs = node_cost_rollups.runs + excluded.runs,
      retried_runs = node_cost_rollups.retried_runs + excluded.retried_runs,
      total = ${clampMoney('node_cost_rollups.total + excluded.total')}, output_bytes = node_cost_rollups.output_bytes + excluded.output_bytes`;

/**
 * CTEs `rollup_exec` and `rollup_nodes` over `source`, a relation with the columns id,
 * tenant_id, workflow_id, created_at and cost_total (the executions just made terminal, or
 * with `sign` -1 just taken back). Rows are pre-aggregated per key (one statement may
 * finish many executions of one workflow) and upserted in key order, so concurrent
 * statements lock rollup rows in the same order. Node runs are read as the statement's
 * snapshot sees them: a recovery subtracts them before it resets them.
 */
export function rollupCtes(source: string, sign: 1 | -1): string {
  const s = sign === 1 ? '' : '-';
  return `rollup_exec as (
    insert into cost_rollups (tenant_id, workflow_id, day, bucket, executions, total, min_cost, max_cost)
    select x.tenant_id, x.workflow_id, ${utcDay('x.created_at')}, ${costBucket('x.cost_total')}, ${s}count(*)::int,
      ${clampMoney(`${s}sum(x.cost_total)`)}, min(x.cost_total), max(x.cost_total)
    from ${source} x group by 1, 2, 3, 4 order by 1, 2, 3, 4
    ${EXEC_CONFLICT}
  ), rollup_nodes as (
    insert into node_cost_rollups (tenant_id, workflow_id, day, node_id, type, runs, retried_runs, total, output_bytes)
    select x.tenant_id, x.workflow_id, ${utcDay('x.created_at')}, n.node_id, min(n.type), ${s}count(*)::int,
      ${s}(count(*) filter (where n.attempts > 1))::int, ${clampMoney(`${s}sum(n.cost)`)}, ${s}sum(n.output_bytes)
    from ${source} x join node_runs n on n.execution_id = x.id group by 1, 2, 3, 4 order by 1, 2, 3, 4
    ${NODE_CONFLICT}
  )`;
}

/**
 * Late node-run writes of cancelled executions (the executor records the node it aborted
 * after the cancel was committed): CTE `rollup_late` adds the difference between the rows
 * `written` (id, tenant_id, workflow_id, created_at, node_id, type, attempts, cost,
 * output_bytes) and `before` (the same columns as the snapshot saw them, null when new).
 */
export function lateNodeRollupCte(written: string): string {
  return `rollup_late as (
    insert into node_cost_rollups (tenant_id, workflow_id, day, node_id, type, runs, retried_runs, total, output_bytes)
    select w.tenant_id, w.workflow_id, ${utcDay('w.created_at')}, w.node_id, min(w.type),
      sum(case when w.old_attempts is null then 1 else 0 end)::int,
      sum((w.attempts > 1)::int - coalesce((w.old_attempts > 1)::int, 0))::int,
      ${clampMoney('sum(w.cost - coalesce(w.old_cost, 0))')}, sum(w.output_bytes - coalesce(w.old_output_bytes, 0))
    from ${written} w group by 1, 2, 3, 4 order by 1, 2, 3, 4
    ${NODE_CONFLICT}
  )`;
}

/**
 * Rebuilds both rollups from the terminal executions and the node runs still stored (the
 * migration's backfill runs the same statements; node runs that retention already purged
 * are not in them). Run on empty rollup tables.
 */
export const COST_ROLLUP_BACKFILL_SQL = [
  `insert into cost_rollups (tenant_id, workflow_id, day, bucket, executions, total, min_cost, max_cost)
  select e.tenant_id, e.workflow_id, ${utcDay('e.created_at')}, ${costBucket('e.cost_total')}, count(*)::int,
    ${clampMoney('sum(e.cost_total)')}, min(e.cost_total), max(e.cost_total)
  from executions e where e.status in ${TERMINAL_LIST} group by 1, 2, 3, 4`,
  `insert into node_cost_rollups (tenant_id, workflow_id, day, node_id, type, runs, retried_runs, total, output_bytes)
  select e.tenant_id, e.workflow_id, ${utcDay('e.created_at')}, n.node_id, min(n.type), count(*)::int,
    (count(*) filter (where n.attempts > 1))::int, ${clampMoney('sum(n.cost)')}, sum(n.output_bytes)
  from executions e join node_runs n on n.execution_id = e.id where e.status in ${TERMINAL_LIST} group by 1, 2, 3, 4`,
] as const;
