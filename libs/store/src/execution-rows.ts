import type { ExecutionStatus, NodeStatus, Priority, RunError, Transition } from '@linkflow/domain';
import type { ExecutionDetail, ExecutionRecord, NodeRunRecord } from './records.ts';

/** Raw `executions` row as `pg` returns it (snake_case; numeric as string). */
export interface ExecutionRow {
  id: string;
  tenant_id: string;
  workflow_id: string;
  workflow_version: number;
  status: string;
  priority: string;
  input_data: unknown;
  output: unknown;
  error: unknown;
  idempotency_key: string | null;
  timeout_seconds: number | null;
  attempt: number;
  cost_total: string;
  trace_context: unknown;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/**
 * Columns selected for an ExecutionRow. `timeout_seconds` is the effective timeout: the
 * execution's own (set by PUT .../timeout) or else the workflow's `settings.timeout_ms`.
 */
export const EXECUTION_COLUMNS = `e.id, e.tenant_id, e.workflow_id, e.workflow_version, e.status, e.priority, e.input_data,
  e.output, e.error, e.idempotency_key, e.attempt, e.cost_total::text as cost_total,
  coalesce(e.timeout_seconds::float8, (select (v.definition->'settings'->>'timeout_ms')::float8 / 1000 from workflow_versions v
    where v.workflow_id = e.workflow_id and v.version = e.workflow_version)) as timeout_seconds,
  e.trace_context, e.created_at, e.started_at, e.finished_at`;

export function toExecutionRecord(row: ExecutionRow): ExecutionRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    workflowId: row.workflow_id,
    workflowVersion: row.workflow_version,
    status: row.status as ExecutionStatus,
    priority: row.priority as Priority,
    inputData: row.input_data,
    output: row.output ?? null,
    error: (row.error as RunError | null) ?? null,
    idempotencyKey: row.idempotency_key,
    timeoutSeconds: row.timeout_seconds,
    attempt: row.attempt,
    costTotal: row.cost_total,
    traceContext: (row.trace_context as Record<string, string> | null) ?? null,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** A node_runs row as produced by `json_agg` (timestamps arrive as strings). */
export interface NodeRunJson {
  node_id: string;
  iteration?: number;
  type: string;
  status: string;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  output: unknown;
  output_truncated: boolean;
  error: RunError | null;
  usage: Record<string, number> | null;
  cost: number | string;
}

const toDate = (value: string | Date | null): Date | null =>
  value === null ? null : new Date(value);

export function toNodeRunRecord(row: NodeRunJson): NodeRunRecord {
  return {
    nodeId: row.node_id,
    ...(row.iteration === undefined || row.iteration < 0 ? {} : { iteration: row.iteration }),
    type: row.type,
    status: row.status as NodeStatus,
    attempts: row.attempts,
    startedAt: toDate(row.started_at),
    finishedAt: toDate(row.finished_at),
    durationMs: row.duration_ms,
    output: row.output ?? null,
    outputTruncated: row.output_truncated,
    error: row.error ?? null,
    usage: row.usage,
    cost: typeof row.cost === 'number' ? row.cost.toFixed(8) : row.cost,
  };
}

interface TransitionJson {
  from_status: string | null;
  to_status: string;
  at: string;
  reason: string;
}

export function toTransition(row: TransitionJson): Transition {
  return {
    from: row.from_status as ExecutionStatus | null,
    to: row.to_status as ExecutionStatus,
    at: new Date(row.at),
    reason: row.reason,
  };
}

export function toExecutionDetail(
  row: ExecutionRow & { node_runs: NodeRunJson[]; transitions: TransitionJson[] },
): ExecutionDetail {
  return {
    ...toExecutionRecord(row),
    nodeRuns: row.node_runs.map(toNodeRunRecord),
    transitions: row.transitions.map(toTransition),
  };
}

/** Columns of the detail read (alias `e`): the execution, its node runs and transitions. */
export const DETAIL_COLUMNS = `${EXECUTION_COLUMNS},
  coalesce((select json_agg(json_build_object('node_id', n.node_id, 'iteration', n.iteration, 'type', n.type, 'status', n.status,
     'attempts', n.attempts, 'started_at', n.started_at, 'finished_at', n.finished_at, 'duration_ms', n.duration_ms,
     'output', n.output, 'output_truncated', n.output_truncated, 'error', n.error, 'usage', n.usage, 'cost', n.cost::text)
     order by n.started_at nulls last, n.node_id, n.iteration) from node_runs n where n.execution_id = e.id), '[]') as node_runs,
  coalesce((select json_agg(json_build_object('from_status', t.from_status, 'to_status', t.to_status, 'at', t.at, 'reason', t.reason)
     order by t.id) from execution_transitions t where t.execution_id = e.id), '[]') as transitions`;

/** The one-statement detail query: execution + node runs + transitions. */
export const DETAIL_SQL = `select ${DETAIL_COLUMNS}
  from executions e`;
