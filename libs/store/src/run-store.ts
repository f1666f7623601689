import type pg from 'pg';
import type { ExecutionStatus, NodeStatus, RunError, WorkflowDefinition } from '@linkflow/domain';
import { appendLogArgs, type NewLogEntry } from './log-repository.ts';

/** The fencing token of one worker's hold on an execution: stale holders match no row. */
export interface Fence {
  readonly executionId: string;
  readonly attempt: number;
}

/** What a worker gets when it claims an execution. */
export interface ClaimedExecution {
  readonly fence: Fence;
  readonly tenantId: string;
  readonly workflowId: string;
  readonly workflowVersion: number;
  readonly definition: WorkflowDefinition;
  readonly inputData: unknown;
  readonly previousStatus: ExecutionStatus;
  readonly timeoutSeconds: number | null;
  readonly createdAt: Date;
  readonly startedAt: Date;
}

export type ClaimOutcome =
  | { readonly claimed: true; readonly execution: ClaimedExecution }
  | { readonly claimed: false; readonly status: ExecutionStatus | null };

/** A settled (or started) node run as the executor checkpoints it. */
export interface NodeRunWrite {
  readonly nodeId: string;
  readonly type: string;
  readonly status: NodeStatus;
  readonly attempts: number;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  /** The output already serialised as JSON (the executor serialises once to measure it). */
  readonly outputJson: string | null;
  readonly outputBytes: number;
  readonly error: RunError | null;
  readonly attemptLog: readonly unknown[];
  readonly usage: Readonly<Record<string, number>> | null;
  readonly cost: string;
}

export interface Checkpoint {
  readonly nodeId: string;
  readonly status: NodeStatus;
  readonly output: unknown;
  readonly error: RunError | null;
  readonly attempts: number;
}

const CLAIM_SQL = `with cur as (select id, status from executions where id = $1 for update),
  upd as (update executions e set status = 'running', attempt = e.attempt + 1, lease_owner = $2,
            started_at = coalesce(e.started_at, $3), updated_at = $3
          from cur where e.id = cur.id and cur.status in ('pending', 'running')
          returning e.id, e.tenant_id, e.workflow_id, e.workflow_version, e.input_data, e.attempt, e.timeout_seconds,
            e.created_at, e.started_at, cur.status as prev_status),
  tr as (insert into execution_transitions (execution_id, from_status, to_status, at, reason)
         select id, 'pending', 'running', $3, 'picked up by ' || $2 from upd where prev_status = 'pending')
  select upd.*, v.definition, (select status from cur) as current_status
  from cur left join upd on true left join workflow_versions v on v.workflow_id = upd.workflow_id and v.version = upd.workflow_version`;

const UPSERT_NODE_RUN = `insert into node_runs (execution_id, node_id, type, status, attempts, started_at, finished_at, duration_ms,
    output, output_bytes, error, attempt_log, usage, cost, updated_at)
  select f.id, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, now() from fence f
  on conflict (execution_id, node_id) do update set type = excluded.type, status = excluded.status, attempts = excluded.attempts,
    started_at = excluded.started_at, finished_at = excluded.finished_at, duration_ms = excluded.duration_ms, output = excluded.output,
    output_bytes = excluded.output_bytes, error = excluded.error, attempt_log = excluded.attempt_log, usage = excluded.usage,
    cost = excluded.cost, updated_at = now()`;

/** Checkpoint + its log lines in one statement, fenced on (attempt, status running). */
const CHECKPOINT_SQL = `with fence as (select id from executions where id = $1 and attempt = $2 and status = ANY($23::text[])),
  up as (${UPSERT_NODE_RUN} returning 1),
  s as (update executions set log_seq = log_seq + $16 where id in (select id from fence) and $16 > 0 returning log_seq),
  lg as (insert into execution_logs (execution_id, seq, at, level, node_id, message, data)
         select $1, s.log_seq - $16 + t.ord, t.at, t.level, t.node_id, t.message, t.data
         from s, unnest($17::timestamptz[], $18::text[], $19::text[], $20::text[], $21::jsonb[]) with ordinality as t(at, level, node_id, message, data, ord)
         returning seq)
  select (select count(*) from up)::int as written, coalesce((select array_agg(seq order by seq) from lg), '{}') as seqs, $22::int as _unused`;

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

function checkpointArgs(
  fence: Fence,
  run: NodeRunWrite,
  logs: readonly NewLogEntry[],
  statuses: readonly string[],
): unknown[] {
  const [, count, ats, levels, nodes, messages, data] = appendLogArgs(fence.executionId, logs);
  return [
    fence.executionId,
    fence.attempt,
    run.nodeId,
    run.type,
    run.status,
    run.attempts,
    run.startedAt,
    run.finishedAt,
    run.durationMs,
    run.outputJson,
    run.outputBytes,
    json(run.error),
    JSON.stringify(run.attemptLog),
    json(run.usage),
    run.cost,
    count,
    ats,
    levels,
    nodes,
    messages,
    data,
    0,
    statuses,
  ];
}

/**
 * The executor's persistence: every write is fenced by (execution id, attempt), so a
 * worker that lost its job (another took it over and bumped the attempt) writes nothing.
 */
export function createRunStore(deps: { pool: pg.Pool }) {
  const { pool } = deps;
  return {
    /** Takes an execution for `workerId`: pending → running (recorded), or re-takes a running one. */
    async claim(executionId: string, workerId: string, at: Date): Promise<ClaimOutcome> {
      const res = await pool.query(CLAIM_SQL, [executionId, workerId, at]);
      const row = res.rows[0] as Record<string, unknown> | undefined;
      if (!row || row['id'] === null || row['id'] === undefined)
        return {
          claimed: false,
          status: (row?.['current_status'] as ExecutionStatus | undefined) ?? null,
        };
      return {
        claimed: true,
        execution: {
          fence: { executionId, attempt: row['attempt'] as number },
          tenantId: row['tenant_id'] as string,
          workflowId: row['workflow_id'] as string,
          workflowVersion: row['workflow_version'] as number,
          definition: row['definition'] as WorkflowDefinition,
          inputData: row['input_data'],
          previousStatus: row['prev_status'] as ExecutionStatus,
          timeoutSeconds: row['timeout_seconds'] as number | null,
          createdAt: row['created_at'] as Date,
          startedAt: row['started_at'] as Date,
        },
      };
    },

    async loadCheckpoints(executionId: string): Promise<Checkpoint[]> {
      const res = await pool.query<{
        node_id: string;
        status: NodeStatus;
        output: unknown;
        error: RunError | null;
        attempts: number;
      }>('select node_id, status, output, error, attempts from node_runs where execution_id = $1', [
        executionId,
      ]);
      return res.rows.map((r) => ({
        nodeId: r.node_id,
        status: r.status,
        output: r.output,
        error: r.error,
        attempts: r.attempts,
      }));
    },

    /**
     * Writes a node run and its log lines atomically. `whileStatus` lists the execution
     * statuses the write is allowed in (default: running). Returns the log seqs, or
     * undefined when the fence rejected the write.
     */
    async checkpoint(
      fence: Fence,
      run: NodeRunWrite,
      logs: readonly NewLogEntry[] = [],
      whileStatus: readonly ExecutionStatus[] = ['running'],
    ): Promise<number[] | undefined> {
      const res = await pool.query<{ written: number; seqs: number[] }>(
        CHECKPOINT_SQL,
        checkpointArgs(fence, run, logs, whileStatus),
      );
      const row = res.rows[0];
      return row && row.written > 0 ? row.seqs : undefined;
    },

    /** Appends execution-level log lines (fenced like checkpoints). */
    async appendLogs(fence: Fence, logs: readonly NewLogEntry[]): Promise<number[] | undefined> {
      if (logs.length === 0) return [];
      const res = await pool.query<{ seq: number }>(
        `with s as (update executions set log_seq = log_seq + $2 where id = $1 and attempt = $8 returning log_seq)
         insert into execution_logs (execution_id, seq, at, level, node_id, message, data)
         select $1, s.log_seq - $2 + t.ord, t.at, t.level, t.node_id, t.message, t.data
         from s, unnest($3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) with ordinality as t(at, level, node_id, message, data, ord)
         returning seq`,
        [...appendLogArgs(fence.executionId, logs), fence.attempt],
      );
      return res.rowCount === 0 ? undefined : res.rows.map((r) => r.seq);
    },

    /** running → success/failed with output, error and the summed cost; false when fenced out. */
    async finish(
      fence: Fence,
      result: {
        status: 'success' | 'failed';
        output: unknown;
        error: RunError | null;
        at: Date;
        reason: string;
      },
    ): Promise<boolean> {
      const res = await pool.query(
        `with upd as (update executions set status = $3, output = $4, error = $5, finished_at = $6, updated_at = $6,
            cost_total = (select coalesce(sum(cost), 0) from node_runs where execution_id = $1)
          where id = $1 and attempt = $2 and status = 'running' returning id),
         tr as (insert into execution_transitions (execution_id, from_status, to_status, at, reason) select id, 'running', $3, $6, $7 from upd)
         select id from upd`,
        [
          fence.executionId,
          fence.attempt,
          result.status,
          json(result.output),
          json(result.error),
          result.at,
          result.reason,
        ],
      );
      return res.rowCount === 1;
    },

    /** Current status, attempt and timeout of an execution (for fence checks and signals). */
    async readState(
      executionId: string,
    ): Promise<
      { status: ExecutionStatus; attempt: number; timeoutSeconds: number | null } | undefined
    > {
      const res = await pool.query<{
        status: ExecutionStatus;
        attempt: number;
        timeout_seconds: number | null;
      }>('select status, attempt, timeout_seconds from executions where id = $1', [executionId]);
      const row = res.rows[0];
      return row
        ? { status: row.status, attempt: row.attempt, timeoutSeconds: row.timeout_seconds }
        : undefined;
    },

    /** Pending executions older than `olderThan` (for the reconciler to enqueue). */
    async stalePending(
      olderThan: Date,
      limit: number,
    ): Promise<{ id: string; tenantId: string; priority: 'high' | 'normal' | 'low' }[]> {
      const res = await pool.query<{
        id: string;
        tenant_id: string;
        priority: 'high' | 'normal' | 'low';
      }>(
        `select id, tenant_id, priority from executions where status = 'pending' and created_at < $1 order by created_at limit $2`,
        [olderThan, limit],
      );
      return res.rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, priority: r.priority }));
    },
  };
}

export type RunStore = ReturnType<typeof createRunStore>;
