/**
 * SQL of the cost report. A period [from, to] is read in three parts that never overlap:
 * the whole UTC days inside it from the rollups (terminal executions, cost-rollup-sql.ts),
 * and from the live tables the two partial days at its ends (every status) plus the
 * executions of the whole days that are not terminal yet (through `(status, created_at)`).
 * The whole days are [`$4`, `$5`): `$4` is the first UTC midnight at or after `from`, `$5`
 * the last at or before `to` (both `to` when no whole day fits). `$1` from, `$2` to, `$3` the
 * tenant (null in the `all` texts).
 */
import { ACTIVE_STATUSES } from '@linkflow/domain';
import { costBucket, utcDay } from './cost-rollup-sql.ts';
import { sqlStatusList } from './status-sql.ts';

/** Which executions a report counts: every tenant's (admin keys) or `$3`'s. */
export type ReportScope = 'all' | 'tenant';

/**
 * Tenant filter per scope: two statement texts, not `($3 is null or tenant_id = $3)`, so each
 * gets its own plan (one tenant through its indexes, all tenants by range or scan).
 */
const scoped = (scope: ReportScope, alias: string): string =>
  scope === 'all' ? `$3::text is null` : `${alias}.tenant_id = $3`;

const ACTIVE = sqlStatusList(ACTIVE_STATUSES);

/** The executions read live: the partial end days, and the whole days' unfinished ones. */
const liveSql = (scope: ReportScope): string => {
  const cols = `select e.id, e.tenant_id, e.workflow_id, e.cost_total from executions e`;
  const t = scoped(scope, 'e');
  return `live as (
    ${cols} where e.created_at >= $1 and e.created_at < $4 and ${t}
    union all
    ${cols} where e.created_at >= $5 and e.created_at <= $2 and ${t}
    union all
    ${cols} where e.status in ${ACTIVE} and e.created_at >= $4 and e.created_at < $5 and ${t}
  )`;
};

const rollupDays = (scope: ReportScope, alias: string): string =>
  `${alias}.day >= ${utcDay('$4::timestamptz')} and ${alias}.day < ${utcDay('$5::timestamptz')} and ${scoped(scope, alias)}`;

/** SQL: the value of the `i`-th (0-based) execution of bucket row `c`, spread evenly over [lo, hi]. */
const valueAt = (i: string): string =>
  `c.lo + (c.hi - c.lo) * (${i} - c.before) / greatest(c.n - 1, 1)`;

const within = (i: string): string => `${i} >= c.before and ${i} < c.before + c.n`;

/**
 * Groups with count, total, average and p95. The p95 follows `percentile_cont(0.95)`: the
 * rank h = 0.95 × (n - 1) falls between two executions, each read from its cost bucket
 * (interpolated between the bucket's cheapest and dearest cost by its rank in the bucket),
 * and interpolated between them: exact when those buckets hold one distinct cost, otherwise
 * off by less than one bucket (a factor 2^(1/8), 9.05 %).
 */
export function groupsSql(scope: ReportScope, key: 'workflow' | 'tenant'): string {
  const col = `${key}_id`;
  const names = key === 'workflow' ? 'workflows' : 'tenants';
  return `with ${liveSql(scope)}, b as (
    select r.${col} as id, r.bucket, r.executions as n, r.total, r.min_cost as lo, r.max_cost as hi
    from cost_rollups r where ${rollupDays(scope, 'r')}
    union all
    select p.${col}, ${costBucket('p.cost_total')}, 1, p.cost_total, p.cost_total, p.cost_total from live p
  ), bk as (
    select id, bucket, sum(n)::int as n, sum(total) as total, min(lo) as lo, max(hi) as hi
    from b group by id, bucket having sum(n) > 0
  ), cum as (
    select bk.*, (sum(bk.n) over (partition by bk.id order by bk.bucket) - bk.n)::int as before from bk
  ), g as (
    select id, sum(n)::int as executions, sum(total) as total, 0.95 * (sum(n) - 1) as h from bk group by id
  ), pick as (
    select c.id, max(${valueAt('floor(g.h)')}) filter (where ${within('floor(g.h)')}) as v_lo,
      max(${valueAt('ceil(g.h)')}) filter (where ${within('ceil(g.h)')}) as v_hi
    from cum c join g on g.id = c.id group by c.id
  )
  select g.id, k.name, g.executions, g.total::text as total, round(g.total / g.executions, 8)::text as average,
    round(pick.v_lo + (g.h - floor(g.h)) * (pick.v_hi - pick.v_lo), 8)::text as p95
  from g join pick on pick.id = g.id join ${names} k on k.id = g.id order by g.total desc, g.id`;
}

/**
 * Per (workflow, node) over the period, from the node rollups and the live executions' node
 * runs; the top nodes and the nodes matching a suggestion rule come back flagged (`$6`..`$12`:
 * top per workflow, top limit, the four rule thresholds, suggestions limit).
 */
export function nodesSql(scope: ReportScope): string {
  return `with ${liveSql(scope)}, s as (
    select x.workflow_id, x.node_id, min(x.type) as type, sum(x.total) as total, sum(x.runs)::int as runs,
      sum(x.retried_runs)::int as retried_runs, (sum(x.output_bytes) / sum(x.runs))::float8 as avg_output_bytes
    from (
      select r.workflow_id, r.node_id, r.type, r.total, r.runs, r.retried_runs, r.output_bytes::numeric as output_bytes
      from node_cost_rollups r where ${rollupDays(scope, 'r')}
      union all
      select p.workflow_id, n.node_id, n.type, n.cost, 1, (n.attempts > 1)::int, n.output_bytes::numeric
      from live p join node_runs n on n.execution_id = p.id
    ) x group by x.workflow_id, x.node_id having sum(x.runs) > 0),
  r as (
    select s.*, coalesce(s.total / nullif(sum(s.total) over (partition by s.workflow_id), 0), 0)::float8 as share,
      row_number() over (partition by s.workflow_id order by s.total desc, s.node_id) as rank_in_workflow
    from s),
  top as (select r.*, 'top' as why from r where r.rank_in_workflow <= $6 order by r.total desc, r.workflow_id, r.node_id limit $7),
  flagged as (select r.*, 'flag' as why from r
    where r.retried_runs::float8 / r.runs >= $8 or r.avg_output_bytes >= $9 or (r.share >= $10 and r.runs >= $11)
    order by r.total desc, r.workflow_id, r.node_id limit $12)
  select x.why, x.workflow_id, w.name as workflow_name, x.node_id, x.type, x.total::text as total, x.runs,
    x.retried_runs, x.avg_output_bytes, x.share
  from (select * from top union all select * from flagged) x join workflows w on w.id = x.workflow_id
  order by x.why desc, x.total desc, x.workflow_id, x.node_id`;
}

const DAY_MS = 86_400_000;

/**
 * The whole UTC days of [from, to] (rollups) as [fullFrom, fullTo); both are `to` when no
 * whole day fits, so everything is read live.
 */
export function wholeDays(from: Date, to: Date): { fullFrom: Date; fullTo: Date } {
  const fullFrom = new Date(Math.ceil(from.getTime() / DAY_MS) * DAY_MS);
  const fullTo = new Date(Math.floor(to.getTime() / DAY_MS) * DAY_MS);
  return fullFrom < fullTo ? { fullFrom, fullTo } : { fullFrom: to, fullTo: to };
}
