import type pg from 'pg';
import {
  ACTIVE_STATUSES,
  CANCELLED_STATUS,
  INITIAL_STATUS,
  MicroBatcher,
  statusesAllowing,
  type ExecutionStatus,
  type Priority,
  type RunError,
} from '@linkflow/domain';
import { rollupCtes } from './cost-rollup-sql.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import {
  DETAIL_SQL,
  EXECUTION_COLUMNS,
  toExecutionDetail,
  toExecutionRecord,
  type ExecutionRow,
} from './execution-rows.ts';
import type { ExecutionDetail, ExecutionRecord, ExecutionStreamState, Page } from './records.ts';
import { readExecutionTimings } from './execution-timings.ts';
import { createExecutionViewReader } from './execution-view-read.ts';
import { sqlStatus, sqlStatusList } from './status-sql.ts';
import { storeErrors } from './store-errors.ts';

export interface NewExecution {
  readonly id: string;
  readonly tenantId: string;
  readonly workflowId: string;
  readonly workflowVersion: number;
  readonly priority: Priority;
  readonly inputData: unknown;
  readonly idempotencyKey?: string | undefined;
  readonly requestHash?: string | undefined;
  readonly timeoutSeconds?: number | undefined;
  readonly traceContext?: Record<string, string> | undefined;
  readonly at: Date;
}

/**
 * `workflow_not_found`: the workflow is missing, deleted, another tenant's, or
 * `workflowVersion` is no longer its latest version (the caller reads it again).
 */
export type CreateOutcome =
  | { readonly outcome: 'created' | 'existing'; readonly execution: ExecutionRecord }
  | { readonly outcome: 'conflict' | 'workflow_not_found' };

export interface ExecutionFilter {
  readonly workflowId?: string | undefined;
  readonly status?: ExecutionStatus | undefined;
  readonly createdFrom?: Date | undefined;
  readonly createdTo?: Date | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/** `not_found`, `terminal` (with the status it is in) or `changed` (with the status it left). */
export type ChangeOutcome =
  | { readonly outcome: 'not_found' }
  | { readonly outcome: 'terminal'; readonly status: ExecutionStatus }
  | { readonly outcome: 'changed'; readonly from: ExecutionStatus };

/** One execution with its node runs and transitions (named: planned once per connection). */
const GET_DETAIL_SQL = `${DETAIL_SQL} where e.id = $1 and e.tenant_id = $2`;

/**
 * Many new executions (and their first transitions) in one statement: one commit per batch.
 * A request is inserted only while its workflow is live and `workflow_version` is still its
 * latest version (read under a share lock, so a concurrent new version waits or is seen).
 */
const INSERT_SQL = `with r as (
    select * from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::jsonb[], $7::text[], $8::text[],
      $9::int[], $10::jsonb[], $11::timestamptz[])
      with ordinality as r(id, tenant_id, workflow_id, workflow_version, priority, input_data, idempotency_key,
        request_hash, timeout_seconds, trace_context, at, ord)
  ), wf as (
    select w.id, w.tenant_id, w.latest_version from workflows w
    where (w.id, w.tenant_id) in (select workflow_id, tenant_id from r) and w.deleted_at is null for share
  ), ins as (
    insert into executions (id, tenant_id, workflow_id, workflow_version, status, priority, input_data, idempotency_key,
      request_hash, timeout_seconds, trace_context, created_at, updated_at)
    select r.id, r.tenant_id, r.workflow_id, r.workflow_version, ${sqlStatus(INITIAL_STATUS)}, r.priority, r.input_data, r.idempotency_key,
      r.request_hash, r.timeout_seconds, r.trace_context, r.at, r.at
    from r join wf on wf.id = r.workflow_id and wf.tenant_id = r.tenant_id and wf.latest_version = r.workflow_version
    order by r.ord
    on conflict (tenant_id, idempotency_key) do nothing
    returning *
  ), tr as (
    insert into execution_transitions (execution_id, from_status, to_status, at, reason)
    select id, null, ${sqlStatus(INITIAL_STATUS)}, created_at, 'created' from ins
  )
  select ${EXECUTION_COLUMNS} from ins e`;

/**
 * Cancels the execution `$1` of tenant `$2` while `cancel` is legal, with its transition and
 * its cost rolled up (cost-rollup-sql.ts; node runs the executor records later add theirs); its
 * node runs still `running` end `cancelled` now (the executor then records their own timing).
 */
const CANCEL_SQL = `with cur as (select id, status from executions where id = $1 and tenant_id = $2 for update),
   upd as (update executions e set status = ${sqlStatus(CANCELLED_STATUS)}, finished_at = $3, updated_at = $3, error = $4
           from cur where e.id = cur.id and cur.status in ${sqlStatusList(statusesAllowing('cancel'))}
           returning e.id, cur.status as from_status, e.tenant_id, e.workflow_id, e.created_at, e.cost_total),
   ${rollupCtes('upd', 1)},
   tr as (insert into execution_transitions (execution_id, from_status, to_status, at, reason)
          select id, from_status, ${sqlStatus(CANCELLED_STATUS)}, $3, $5 from upd),
   nodes as (update node_runs nr set status = 'cancelled', error = $4, finished_at = $3, updated_at = $3,
             duration_ms = greatest(0, floor(extract(epoch from $3::timestamptz - nr.started_at) * 1000))::int
           from upd where nr.execution_id = upd.id and nr.status = 'running')
   select cur.status as before, exists(select 1 from upd) as changed from cur`;

/** Sets the timeout of the execution `$1` of tenant `$2` while it is active. */
const SET_TIMEOUT_SQL = `with cur as (select id, status from executions where id = $1 and tenant_id = $2 for update),
   upd as (update executions e set timeout_seconds = $3, updated_at = now() from cur
           where e.id = cur.id and cur.status in ${sqlStatusList(ACTIVE_STATUSES)} returning e.id)
   select cur.status as before, exists(select 1 from upd) as changed from cur`;

function insertArgs(batch: readonly NewExecution[]): unknown[] {
  const col = <T>(f: (e: NewExecution) => T) => batch.map(f);
  return [
    col((e) => e.id),
    col((e) => e.tenantId),
    col((e) => e.workflowId),
    col((e) => e.workflowVersion),
    col((e) => e.priority),
    col((e) => JSON.stringify(e.inputData ?? null)),
    col((e) => e.idempotencyKey ?? null),
    col((e) => e.requestHash ?? null),
    col((e) => e.timeoutSeconds ?? null),
    col((e) => (e.traceContext ? JSON.stringify(e.traceContext) : null)),
    col((e) => e.at),
  ];
}

/** Inserts a batch; per request, its row, or undefined when not inserted (no workflow, or key taken). */
async function insertBatch(
  pool: pg.Pool,
  batch: readonly NewExecution[],
): Promise<(ExecutionRow | undefined)[]> {
  const res = await pool.query<ExecutionRow>({
    name: 'lf_insert_executions',
    text: INSERT_SQL,
    values: insertArgs(batch),
  });
  const byId = new Map(res.rows.map((r) => [r.id, r]));
  return batch.map((e) => byId.get(e.id));
}

/**
 * Executions as the API sees them. Creation is one statement (execution + first
 * transition, idempotency by unique key), shared by concurrent requests (group commit); cancel and timeout changes are fenced on
 * the current status so they never overwrite a terminal state.
 */
export function createExecutionRepository(deps: { pool: pg.Pool }) {
  const { pool } = deps;
  const readView = createExecutionViewReader(pool);
  const inserts = new MicroBatcher<NewExecution, ExecutionRow | undefined>({
    run: (batch) => insertBatch(pool, batch),
  });

  async function findByKey(
    tenantId: string,
    key: string,
  ): Promise<(ExecutionRow & { request_hash: string | null }) | undefined> {
    const res = await pool.query<ExecutionRow & { request_hash: string | null }>(
      `select ${EXECUTION_COLUMNS}, e.request_hash from executions e where e.tenant_id = $1 and e.idempotency_key = $2`,
      [tenantId, key],
    );
    return res.rows[0];
  }

  return {
    async create(input: NewExecution): Promise<CreateOutcome> {
      const created = await inserts.submit(input);
      if (created) return { outcome: 'created', execution: toExecutionRecord(created) };
      if (input.idempotencyKey === undefined) return { outcome: 'workflow_not_found' };
      const existing = await findByKey(input.tenantId, input.idempotencyKey);
      if (!existing) return { outcome: 'workflow_not_found' };
      if (existing.request_hash !== (input.requestHash ?? null)) return { outcome: 'conflict' };
      return { outcome: 'existing', execution: toExecutionRecord(existing) };
    },

    /** The execution a tenant started with an idempotency key, with its request hash. */
    async byIdempotencyKey(
      tenantId: string,
      key: string,
    ): Promise<{ execution: ExecutionRecord; requestHash: string | null } | undefined> {
      const row = await findByKey(tenantId, key);
      return row ? { execution: toExecutionRecord(row), requestHash: row.request_hash } : undefined;
    },

    /** True when the execution exists and belongs to the tenant (a cheap ownership check). */
    async exists(tenantId: string, id: string): Promise<boolean> {
      const res = await pool.query('select 1 from executions where id = $1 and tenant_id = $2', [
        id,
        tenantId,
      ]);
      return res.rowCount === 1;
    },

    /**
     * Status, last log seq and finish time of one execution (one primary-key read: the
     * WebSocket stream's periodic check). With `tenantId`, only that tenant's execution.
     */
    async streamState(id: string, tenantId?: string): Promise<ExecutionStreamState | undefined> {
      const res = await pool.query<{
        status: ExecutionStatus;
        log_seq: number;
        finished_at: Date | null;
      }>(
        tenantId === undefined
          ? 'select status, log_seq, finished_at from executions where id = $1'
          : 'select status, log_seq, finished_at from executions where id = $1 and tenant_id = $2',
        tenantId === undefined ? [id] : [id, tenantId],
      );
      const row = res.rows[0];
      return row
        ? { status: row.status, logSeq: row.log_seq, finishedAt: row.finished_at }
        : undefined;
    },

    async get(tenantId: string, id: string): Promise<ExecutionDetail | undefined> {
      const res = await pool.query<Parameters<typeof toExecutionDetail>[0]>({
        name: 'lf_execution_detail',
        text: GET_DETAIL_SQL,
        values: [id, tenantId],
      });
      const row = res.rows[0];
      return row ? toExecutionDetail(row) : undefined;
    },

    /**
     * The tenant's execution with its node runs, transitions and subworkflow links (parent,
     * depth, children): the same values `get` and ChildExecutionStore's `family` return, in
     * one prepared statement that concurrent calls share (execution-view-read.ts).
     */
    getWithFamily: readView,

    /** Timings, attempts and cost of the tenant's execution (no outputs); undefined if none. */
    timings: (tenantId: string, id: string) => readExecutionTimings(pool, tenantId, id),

    async list(tenantId: string, filter: ExecutionFilter): Promise<Page<ExecutionRecord>> {
      const where = ['e.tenant_id = $1'];
      const args: unknown[] = [tenantId];
      const add = (sql: string, value: unknown) => {
        args.push(value);
        where.push(sql.replace('?', `$${args.length}`));
      };
      if (filter.workflowId !== undefined) add('e.workflow_id = ?', filter.workflowId);
      if (filter.status !== undefined) add('e.status = ?', filter.status);
      if (filter.createdFrom !== undefined) add('e.created_at >= ?', filter.createdFrom);
      if (filter.createdTo !== undefined) add('e.created_at < ?', filter.createdTo);
      if (filter.cursor !== undefined) {
        const key = decodeCursor(filter.cursor);
        if (!key) throw storeErrors.badCursor();
        args.push(key.createdAt, key.id);
        where.push(`(e.created_at, e.id) < ($${args.length - 1}, $${args.length})`);
      }
      args.push(filter.limit + 1);
      const res = await pool.query<ExecutionRow>(
        `select ${EXECUTION_COLUMNS} from executions e where ${where.join(' and ')} order by e.created_at desc, e.id desc limit $${args.length}`,
        args,
      );
      const items = res.rows.slice(0, filter.limit).map(toExecutionRecord);
      const last = items[items.length - 1];
      return {
        items,
        nextCursor: res.rows.length > filter.limit && last ? encodeCursor(last) : null,
      };
    },

    /** Cancels a pending or running execution (recording the transition); fenced on status. */
    async cancel(tenantId: string, id: string, at: Date, reason: string): Promise<ChangeOutcome> {
      const error: RunError = { type: 'CANCELLATION', message: reason, node_id: null };
      const res = await pool.query<{ before: string; changed: boolean }>(CANCEL_SQL, [
        id,
        tenantId,
        at,
        JSON.stringify(error),
        reason,
      ]);
      return changeOutcome(res.rows[0]);
    },

    /** Sets `timeout_seconds` on a pending or running execution. */
    async setTimeout(tenantId: string, id: string, seconds: number): Promise<ChangeOutcome> {
      const res = await pool.query<{ before: string; changed: boolean }>(SET_TIMEOUT_SQL, [
        id,
        tenantId,
        seconds,
      ]);
      return changeOutcome(res.rows[0]);
    },
  };
}

function changeOutcome(row: { before: string; changed: boolean } | undefined): ChangeOutcome {
  if (!row) return { outcome: 'not_found' };
  const status = row.before as ExecutionStatus;
  return row.changed ? { outcome: 'changed', from: status } : { outcome: 'terminal', status };
}

export type ExecutionRepository = ReturnType<typeof createExecutionRepository>;
