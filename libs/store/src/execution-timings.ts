import type { ExecutionStatus, NodeStatus } from '@linkflow/domain';
import type pg from 'pg';

/** A node run's timing and attempts (no output, error or usage). */
export interface NodeRunTiming {
  readonly nodeId: string;
  readonly type: string;
  readonly status: NodeStatus;
  readonly attempts: number;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
}

/** What `GET /api/executions/:id/metrics` is computed from. */
export interface ExecutionTimings {
  readonly id: string;
  readonly status: ExecutionStatus;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  /** USD, decimal string. */
  readonly costTotal: string;
  readonly nodeRuns: readonly NodeRunTiming[];
}

/** Timing columns only: a node's output (up to the output cap each) is never read. */
const TIMINGS_SQL = `select e.id, e.status, e.created_at, e.started_at, e.finished_at, e.cost_total::text as cost_total,
  coalesce((select json_agg(json_build_object('node_id', n.node_id, 'type', n.type, 'status', n.status,
     'attempts', n.attempts, 'started_at', n.started_at, 'finished_at', n.finished_at, 'duration_ms', n.duration_ms)
     order by n.started_at nulls last, n.node_id) from node_runs n where n.execution_id = e.id), '[]') as node_runs
  from executions e where e.id = $1 and e.tenant_id = $2`;

interface TimingsRow {
  id: string;
  status: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  cost_total: string;
  node_runs: {
    node_id: string;
    type: string;
    status: string;
    attempts: number;
    started_at: string | null;
    finished_at: string | null;
    duration_ms: number | null;
  }[];
}

const toDate = (value: string | null): Date | null => (value === null ? null : new Date(value));

/** The tenant's execution's timings, or undefined when it has none by that id. */
export async function readExecutionTimings(
  pool: pg.Pool,
  tenantId: string,
  id: string,
): Promise<ExecutionTimings | undefined> {
  const res = await pool.query<TimingsRow>({
    name: 'lf_execution_timings',
    text: TIMINGS_SQL,
    values: [id, tenantId],
  });
  const row = res.rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    status: row.status as ExecutionStatus,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    costTotal: row.cost_total,
    nodeRuns: row.node_runs.map((n) => ({
      nodeId: n.node_id,
      type: n.type,
      status: n.status as NodeStatus,
      attempts: n.attempts,
      startedAt: toDate(n.started_at),
      finishedAt: toDate(n.finished_at),
      durationMs: n.duration_ms,
    })),
  };
}
