import type { NodeStatus } from '@linkflow/domain';
import type pg from 'pg';

/** A node run's stored usage and cost (USD, decimal string with 8 decimals). */
export interface NodeRunCost {
  readonly nodeId: string;
  readonly type: string;
  readonly status: NodeStatus;
  readonly attempts: number;
  /** The usage as the executor stored it (null before the node ran). */
  readonly usage: Record<string, unknown> | null;
  readonly cost: string;
}

/** What `GET /api/executions/:id/cost` is computed from. */
export interface ExecutionCost {
  readonly id: string;
  /** The execution's stored `cost_total` (USD, 8 decimals). */
  readonly total: string;
  readonly nodes: readonly NodeRunCost[];
}

export type CostGroupBy = 'workflow' | 'tenant';

export interface CostReportQuery {
  readonly groupBy: CostGroupBy;
  /** Executions created in [from, to] are counted. */
  readonly from: Date;
  readonly to: Date;
  /** Only this tenant's executions; undefined counts every tenant (admin keys). */
  readonly tenantId: string | undefined;
}

/** One group of the report: money as decimal strings with 8 decimals. */
export interface CostGroup {
  readonly id: string;
  readonly name: string;
  readonly executions: number;
  readonly total: string;
  readonly average: string;
  readonly p95: string;
}

/** Per-node aggregate over the period, for one workflow. */
export interface NodeCostStat {
  readonly workflowId: string;
  readonly workflowName: string;
  readonly nodeId: string;
  readonly type: string;
  readonly total: string;
  readonly runs: number;
  /** Runs with more than one attempt. */
  readonly retriedRuns: number;
  readonly avgOutputBytes: number;
  /** The node's share of the cost of the workflow's node runs over the period, 0..1. */
  readonly share: number;
}

export interface CostReportData {
  readonly groups: readonly CostGroup[];
  /** The most expensive nodes: at most `TOP_NODES_PER_WORKFLOW` per workflow, `TOP_NODES_LIMIT` in all. */
  readonly topNodes: readonly NodeCostStat[];
  /** Nodes matching at least one suggestion rule (`SUGGESTION_RULES`), at most `SUGGESTIONS_LIMIT`. */
  readonly flagged: readonly NodeCostStat[];
}

export const TOP_NODES_PER_WORKFLOW = 3;
export const TOP_NODES_LIMIT = 20;
export const SUGGESTIONS_LIMIT = 20;
/** Thresholds of the rule-based suggestions (documented in docs/api.md). */
export const SUGGESTION_RULES = {
  retriedShare: 0.25,
  avgOutputBytes: 1024 * 1024,
  dominantShare: 0.5,
  dominantMinRuns: 10,
} as const;

const COST_SQL = `select e.id, e.cost_total::text as total,
  coalesce((select json_agg(json_build_object('node_id', n.node_id, 'type', n.type, 'status', n.status,
     'attempts', n.attempts, 'usage', n.usage, 'cost', n.cost::text)
     order by n.started_at nulls last, n.node_id) from node_runs n where n.execution_id = e.id), '[]') as nodes
  from executions e where e.id = $1 and e.tenant_id = $2`;

interface CostRow {
  id: string;
  total: string;
  nodes: {
    node_id: string;
    type: string;
    status: string;
    attempts: number;
    usage: Record<string, unknown> | null;
    cost: string;
  }[];
}

/** json_build_object prints numeric(20,8) with its scale already; keep it as text. */
export async function readExecutionCost(
  pool: pg.Pool,
  tenantId: string,
  id: string,
): Promise<ExecutionCost | undefined> {
  const res = await pool.query<CostRow>({
    name: 'lf_execution_cost',
    text: COST_SQL,
    values: [id, tenantId],
  });
  const row = res.rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    total: row.total,
    nodes: row.nodes.map((n) => ({
      nodeId: n.node_id,
      type: n.type,
      status: n.status as NodeStatus,
      attempts: n.attempts,
      usage: n.usage,
      cost: n.cost,
    })),
  };
}

/**
 * The executions of the period: all tenants through executions_created_at_idx (the planner
 * seq-scans when the window is most of the table), one tenant through its
 * (tenant_id, created_at) index. Two texts, not `($3 is null or tenant_id = $3)`, so each
 * gets its own plan; `$3` is null in the first.
 */
const PERIOD = {
  all: `select e.id, e.tenant_id, e.workflow_id, e.cost_total from executions e
  where e.created_at >= $1 and e.created_at <= $2 and $3::text is null`,
  tenant: `select e.id, e.tenant_id, e.workflow_id, e.cost_total from executions e
  where e.created_at >= $1 and e.created_at <= $2 and e.tenant_id = $3`,
} as const;
type Scope = keyof typeof PERIOD;

const groupSql = (scope: Scope): Record<CostGroupBy, string> => ({
  workflow: `with g as (select p.workflow_id as id, count(*)::int as executions, sum(p.cost_total) as total,
      avg(p.cost_total) as average, percentile_cont(0.95) within group (order by p.cost_total::float8) as p95
      from (${PERIOD[scope]}) p group by p.workflow_id)
    select g.id, w.name, g.executions, g.total::text as total, round(g.average, 8)::text as average,
      round(g.p95::numeric, 8)::text as p95
    from g join workflows w on w.id = g.id order by g.total desc, g.id`,
  tenant: `with g as (select p.tenant_id as id, count(*)::int as executions, sum(p.cost_total) as total,
      avg(p.cost_total) as average, percentile_cont(0.95) within group (order by p.cost_total::float8) as p95
      from (${PERIOD[scope]}) p group by p.tenant_id)
    select g.id, t.name, g.executions, g.total::text as total, round(g.average, 8)::text as average,
      round(g.p95::numeric, 8)::text as p95
    from g join tenants t on t.id = g.id order by g.total desc, g.id`,
});

/**
 * One pass over the period's node runs, aggregated per (workflow, node); the top nodes and
 * the nodes matching a suggestion rule come back flagged, nothing else leaves Postgres.
 */
const nodesSql = (scope: Scope): string => `with s as (
    select p.workflow_id, n.node_id, min(n.type) as type, sum(n.cost) as total, count(*)::int as runs,
      (count(*) filter (where n.attempts > 1))::int as retried_runs, avg(n.output_bytes)::float8 as avg_output_bytes
    from (${PERIOD[scope]}) p join node_runs n on n.execution_id = p.id
    group by p.workflow_id, n.node_id),
  r as (
    select s.*, coalesce(s.total / nullif(sum(s.total) over (partition by s.workflow_id), 0), 0)::float8 as share,
      row_number() over (partition by s.workflow_id order by s.total desc, s.node_id) as rank_in_workflow
    from s),
  top as (select r.*, 'top' as why from r where r.rank_in_workflow <= $4 order by r.total desc, r.workflow_id, r.node_id limit $5),
  flagged as (select r.*, 'flag' as why from r
    where r.retried_runs::float8 / r.runs >= $6 or r.avg_output_bytes >= $7 or (r.share >= $8 and r.runs >= $9)
    order by r.total desc, r.workflow_id, r.node_id limit $10)
  select x.why, x.workflow_id, w.name as workflow_name, x.node_id, x.type, x.total::text as total, x.runs,
    x.retried_runs, x.avg_output_bytes, x.share
  from (select * from top union all select * from flagged) x join workflows w on w.id = x.workflow_id
  order by x.why desc, x.total desc, x.workflow_id, x.node_id`;

interface GroupRow {
  id: string;
  name: string;
  executions: number;
  total: string;
  average: string;
  p95: string;
}

interface NodeRow {
  why: 'top' | 'flag';
  workflow_id: string;
  workflow_name: string;
  node_id: string;
  type: string;
  total: string;
  runs: number;
  retried_runs: number;
  avg_output_bytes: number;
  share: number;
}

const toStat = (r: NodeRow): NodeCostStat => ({
  workflowId: r.workflow_id,
  workflowName: r.workflow_name,
  nodeId: r.node_id,
  type: r.type,
  total: r.total,
  runs: r.runs,
  retriedRuns: r.retried_runs,
  avgOutputBytes: r.avg_output_bytes,
  share: r.share,
});

/** Sorts and hashes of a report stay in memory (4 MB default spills 1M rows to disk). */
const REPORT_WORK_MEM = '64MB';
/** Index probes cost little more than sequential reads on SSDs and cached pages. */
const REPORT_RANDOM_PAGE_COST = 1.1;
/**
 * At most this many report statements hold (or wait for) a pooled connection at once: a
 * report takes two, for up to the statement timeout, and any `executions:read` key may ask
 * for one, so concurrent reports must leave the rest of the pool to the other routes.
 */
export const REPORT_MAX_STATEMENTS = 4;

/** A report never holds a connection longer than this. */
const REPORT_STATEMENT_TIMEOUT = '30s';

/** A counting gate: `run` waits while `max` calls are inside, first come first served. */
export function createReportGate(max: number) {
  let inside = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (inside >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else inside += 1;
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else inside -= 1;
    }
  };
}
export type ReportGate = ReturnType<typeof createReportGate>;

/** One read-only statement in its own transaction, with the report's memory and time limits. */
async function reportQuery<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  text: string,
  values: unknown[],
  gate?: ReportGate,
): Promise<R[]> {
  if (gate) return gate(() => reportQuery<R>(pool, text, values));
  const client = await pool.connect();
  let failed: unknown;
  try {
    await client.query('begin read only');
    await client.query(`set local work_mem = '${REPORT_WORK_MEM}'`);
    await client.query(`set local statement_timeout = '${REPORT_STATEMENT_TIMEOUT}'`);
    // Node runs are reached by primary key from the period's executions: with the default
    // random_page_cost (4, spinning disks) the planner hash-joins the whole node_runs table
    // even for a day's or one tenant's executions.
    await client.query(`set local random_page_cost = ${REPORT_RANDOM_PAGE_COST}`);
    const res = await client.query<R>(text, values);
    await client.query('commit');
    return res.rows;
  } catch (error) {
    failed = error;
    throw error;
  } finally {
    // A failed transaction's connection is dropped, not rolled back and reused.
    client.release(failed === undefined ? undefined : true);
  }
}

/** The cost report's aggregates over a period: two SQL statements, small results. */
export async function readCostReport(
  pool: pg.Pool,
  q: CostReportQuery,
  gate?: ReportGate,
): Promise<CostReportData> {
  const scope: Scope = q.tenantId === undefined ? 'all' : 'tenant';
  const period = [q.from, q.to, q.tenantId ?? null];
  const rules = SUGGESTION_RULES;
  const [groups, nodes] = await Promise.all([
    reportQuery<GroupRow>(pool, groupSql(scope)[q.groupBy], period, gate),
    reportQuery<NodeRow>(
      pool,
      nodesSql(scope),
      [
        ...period,
        TOP_NODES_PER_WORKFLOW,
        TOP_NODES_LIMIT,
        rules.retriedShare,
        rules.avgOutputBytes,
        rules.dominantShare,
        rules.dominantMinRuns,
        SUGGESTIONS_LIMIT,
      ],
      gate,
    ),
  ]);
  return {
    groups: groups.map((g) => ({ ...g })),
    topNodes: nodes.filter((r) => r.why === 'top').map(toStat),
    flagged: nodes.filter((r) => r.why === 'flag').map(toStat),
  };
}

/** Reads for the cost routes. */
export interface CostReportRepository {
  executionCost(tenantId: string, id: string): Promise<ExecutionCost | undefined>;
  report(query: CostReportQuery): Promise<CostReportData>;
}

export function createCostReportRepository(deps: { pool: pg.Pool }): CostReportRepository {
  const gate = createReportGate(REPORT_MAX_STATEMENTS);
  return {
    executionCost: (tenantId, id) => readExecutionCost(deps.pool, tenantId, id),
    report: (query) => readCostReport(deps.pool, query, gate),
  };
}
