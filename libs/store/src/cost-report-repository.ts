import type { NodeStatus } from '@linkflow/domain';
import type pg from 'pg';
import { groupsSql, nodesSql, wholeDays, type ReportScope } from './cost-report-sql.ts';

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
  statement: { text: string; values: unknown[]; scope: ReportScope },
  gate?: ReportGate,
): Promise<R[]> {
  if (gate) return gate(() => reportQuery<R>(pool, statement));
  const { text, values } = statement;
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
    // One tenant's report reads a few thousand rows: starting parallel workers costs more
    // than it saves (200 ms of a 230 ms statement over 1M executions on a loaded machine).
    if (statement.scope === 'tenant')
      await client.query('set local max_parallel_workers_per_gather = 0');
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

/**
 * The cost report's aggregates over a period: two SQL statements (cost-report-sql.ts), small
 * results. Whole UTC days come from the cost rollups, the partial end days and unfinished
 * executions from the live tables; p95 is within one cost bucket (see groupsSql). `gate`
 * bounds how many report statements hold pooled connections at once.
 */
export async function readCostReport(
  pool: pg.Pool,
  q: CostReportQuery,
  gate?: ReportGate,
): Promise<CostReportData> {
  const scope: ReportScope = q.tenantId === undefined ? 'all' : 'tenant';
  const { fullFrom, fullTo } = wholeDays(q.from, q.to);
  const period = [q.from, q.to, q.tenantId ?? null, fullFrom, fullTo];
  const rules = SUGGESTION_RULES;
  const [groups, nodes] = await Promise.all([
    reportQuery<GroupRow>(pool, { text: groupsSql(scope, q.groupBy), values: period, scope }, gate),
    reportQuery<NodeRow>(
      pool,
      {
        text: nodesSql(scope),
        scope,
        values: [
          ...period,
          TOP_NODES_PER_WORKFLOW,
          TOP_NODES_LIMIT,
          rules.retriedShare,
          rules.avgOutputBytes,
          rules.dominantShare,
          rules.dominantMinRuns,
          SUGGESTIONS_LIMIT,
        ],
      },
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
