import type pg from 'pg';
import {
  CANCELLED_STATUS,
  CLAIMED_STATUS,
  type ExecutionStatus,
  type Fence,
  type NewLogEntry,
  type NodeRunWrite,
} from '@linkflow/domain';
import { lateNodeRollupCte } from './cost-rollup-sql.ts';
import { MAX_MONEY_SQL } from './money-sql.ts';
import { RESTARTABLE } from './run-store-sql.ts';
import { sqlStatus } from './status-sql.ts';
import { MicroBatcher } from '@linkflow/domain';

/** One checkpoint request: a node run and its log lines, fenced. */
export interface CheckpointRequest {
  readonly fence: Fence;
  readonly run: NodeRunWrite;
  readonly logs: readonly NewLogEntry[];
  readonly whileStatus: readonly ExecutionStatus[];
}

/**
 * Many checkpoints in ONE statement (one commit). The fence row of each execution is
 * locked (`FOR NO KEY UPDATE`), so a concurrent claim by another worker either waits for
 * this write or makes it match nothing. Log lines get consecutive per-execution seqs from
 * the execution's counter, in request order. The nodes a request says are starting get
 * `running` rows in the same commit (a row left `running` by an earlier attempt restarts).
 * Costs: a run settling over a `pending` or `running` row adds to what that row carries (the
 * charge of runs before a `recover`); over a settled row (a replayed statement) it replaces it.
 * The execution's `cost_total` moves by the same amount (read from the statement's snapshot),
 * so it always equals the sum of its node runs' costs (up to the money ceiling both are
 * clamped to, see MAX_MONEY_SQL): a crash after the commit keeps the charge, one before it
 * loses the whole checkpoint, never half of it.
 * A node run written after its execution was cancelled (and rolled up) adds its difference
 * to the node cost rollups (`rollup_late`).
 * A run inside a foreach carries its iteration (the row key is node id and iteration).
 */
const BATCH_SQL = `with w as (
    select * from unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::int[], $7::timestamptz[],
      $8::timestamptz[], $9::int[], $10::jsonb[], $11::int[], $12::jsonb[], $13::jsonb[], $14::jsonb[], $15::numeric[], $16::bool[], $26::int[])
      with ordinality as w(exec_id, attempt, node_id, type, status, attempts, started_at, finished_at, duration_ms, output,
        output_bytes, error, attempt_log, usage, cost, allow_cancelled, iteration, ord)
  ), l as (
    select * from unnest($17::int[], $18::timestamptz[], $19::text[], $20::text[], $21::text[], $22::jsonb[])
      with ordinality as l(w_ord, at, level, node_id, message, data, lpos)
  ), ok as (
    select w.*, e.status as exec_status from w join executions e on e.id = w.exec_id and e.attempt = w.attempt
      and (e.status = ${sqlStatus(CLAIMED_STATUS)} or (w.allow_cancelled and e.status = ${sqlStatus(CANCELLED_STATUS)}))
    order by e.id for no key update of e
  ), up as (
    insert into node_runs (execution_id, node_id, iteration, type, status, attempts, started_at, finished_at, duration_ms,
      output, output_bytes, error, attempt_log, usage, cost, updated_at)
    select exec_id, node_id, iteration, type, status, attempts, started_at, finished_at, duration_ms, output, output_bytes,
      error, attempt_log, usage, cost, now() from ok
    on conflict (execution_id, node_id, iteration) do update set type = excluded.type, status = excluded.status,
      attempts = excluded.attempts, started_at = excluded.started_at, finished_at = excluded.finished_at,
      duration_ms = excluded.duration_ms, output = excluded.output, output_bytes = excluded.output_bytes,
      error = excluded.error, attempt_log = excluded.attempt_log, usage = excluded.usage,
      cost = least(excluded.cost + case when node_runs.status in ('pending', 'running') then node_runs.cost else 0 end, ${MAX_MONEY_SQL}),
      updated_at = now()
    returning 1
  ), late as (
    select e.id, e.tenant_id, e.workflow_id, e.created_at, ok.node_id, ok.type, ok.attempts, ok.cost, ok.output_bytes,
      o.attempts as old_attempts, o.cost as old_cost, o.output_bytes as old_output_bytes
    from ok join executions e on e.id = ok.exec_id
      left join node_runs o on o.execution_id = ok.exec_id and o.node_id = ok.node_id and o.iteration = ok.iteration
    where ok.exec_status = ${sqlStatus(CANCELLED_STATUS)}
  ), ${lateNodeRollupCte('late')}, st as (
    select * from unnest($23::int[], $24::text[], $25::text[]) as st(w_ord, node_id, type)
  ), starts as (
    insert into node_runs (execution_id, node_id, type, status, attempts, started_at, updated_at)
    select distinct on (ok.exec_id, st.node_id) ok.exec_id, st.node_id, st.type, 'running', 1, now(), now()
    from st join ok on ok.ord = st.w_ord
    on conflict (execution_id, node_id, iteration) do update set status = 'running', attempts = 1, started_at = excluded.started_at,
      finished_at = null, duration_ms = null, error = null, updated_at = now()
    where node_runs.status in ${RESTARTABLE}
    returning 1
  ), costs as (
    select ok.exec_id, sum(case when prev.status in ('pending', 'running') then ok.cost else ok.cost - coalesce(prev.cost, 0) end) as delta from ok
      left join node_runs prev on prev.execution_id = ok.exec_id and prev.node_id = ok.node_id and prev.iteration = ok.iteration
    group by ok.exec_id
  ), counts as (
    select ok.exec_id, count(*)::int as n from ok join l on l.w_ord = ok.ord group by ok.exec_id
  ), seqs as (
    update executions e set log_seq = e.log_seq + coalesce(c.n, 0), cost_total = least(e.cost_total + k.delta, ${MAX_MONEY_SQL})
    from costs k left join counts c on c.exec_id = k.exec_id where e.id = k.exec_id
    returning e.id, e.log_seq as last
  ), numbered as (
    select l.w_ord, l.lpos, ok.exec_id, l.at, l.level, l.node_id, l.message, l.data,
      (s.last - c.n + row_number() over (partition by ok.exec_id order by l.lpos))::int as seq
    from l join ok on ok.ord = l.w_ord join counts c on c.exec_id = ok.exec_id join seqs s on s.id = ok.exec_id
  ), ins as (
    insert into execution_logs (execution_id, seq, at, level, node_id, message, data)
    select exec_id, seq, at, level, node_id, message, data from numbered returning 1
  )
  select w.ord::int as ord, exists(select 1 from ok where ok.ord = w.ord) as written,
    coalesce((select array_agg(n.seq order by n.lpos) from numbered n where n.w_ord = w.ord), '{}') as seqs
  from w`;

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

function batchArgs(batch: readonly CheckpointRequest[]): unknown[] {
  const col = <T>(f: (r: CheckpointRequest) => T) => batch.map(f);
  const logs = batch.flatMap((r, i) => r.logs.map((log) => ({ w: i + 1, log })));
  const starts = batch.flatMap((r, i) =>
    (r.run.starting ?? []).map((start) => ({ w: i + 1, start })),
  );
  return [
    col((r) => r.fence.executionId),
    col((r) => r.fence.attempt),
    col((r) => r.run.nodeId),
    col((r) => r.run.type),
    col((r) => r.run.status),
    col((r) => r.run.attempts),
    col((r) => r.run.startedAt),
    col((r) => r.run.finishedAt),
    col((r) => r.run.durationMs),
    col((r) => r.run.outputJson),
    col((r) => r.run.outputBytes),
    col((r) => json(r.run.error)),
    col((r) => JSON.stringify(r.run.attemptLog)),
    col((r) => json(r.run.usage)),
    col((r) => r.run.cost),
    col((r) => r.whileStatus.includes(CANCELLED_STATUS)),
    logs.map((x) => x.w),
    logs.map((x) => x.log.at),
    logs.map((x) => x.log.level),
    logs.map((x) => x.log.nodeId),
    logs.map((x) => x.log.message),
    logs.map((x) => json(x.log.data)),
    starts.map((x) => x.w),
    starts.map((x) => x.start.nodeId),
    starts.map((x) => x.start.type),
    col((r) => r.run.iteration ?? -1),
  ];
}

/**
 * Writes checkpoints in one statement; per request, the seqs of its log lines, or
 * undefined when its fence rejected it.
 */
export async function writeCheckpoints(
  pool: pg.Pool | pg.PoolClient,
  batch: readonly CheckpointRequest[],
): Promise<(number[] | undefined)[]> {
  // Named: prepared once per connection, so Postgres does not re-plan this CTE per call.
  const res = await pool.query<{ ord: number; written: boolean; seqs: number[] }>({
    name: 'lf_checkpoints',
    text: BATCH_SQL,
    values: batchArgs(batch),
  });
  return writtenSeqsByOrd(res.rows, batch.length);
}

/**
 * Maps a fenced batch write's rows (`ord` is the 1-based request position) back to the
 * requests: the log seqs of each written request, undefined where its fence rejected it.
 */
export function writtenSeqsByOrd(
  rows: readonly { ord: number; written: boolean; seqs: number[] }[],
  count: number,
): (number[] | undefined)[] {
  const byOrd = new Map(rows.map((r) => [r.ord, r]));
  return Array.from({ length: count }, (_, i) => {
    const row = byOrd.get(i + 1);
    return row?.written ? row.seqs : undefined;
  });
}

/** Checkpoints share commits across concurrent executions (one node run per row). */
export function createCheckpointBatcher(
  pool: pg.Pool,
): MicroBatcher<CheckpointRequest, number[] | undefined> {
  return new MicroBatcher({
    run: (batch) => writeCheckpoints(pool, batch),
    key: (r) => `${r.fence.executionId}\u0000${r.run.nodeId}\u0000${r.run.iteration ?? -1}`,
  });
}
