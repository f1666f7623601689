import type pg from 'pg';
import {
  CANCELLED_STATUS,
  CLAIMED_STATUS,
  type ExecutionStatus,
  type Fence,
  type NewLogEntry,
  type NodeRunWrite,
} from '@linkflow/domain';
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
    select w.* from w join executions e on e.id = w.exec_id and e.attempt = w.attempt
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
      error = excluded.error, attempt_log = excluded.attempt_log, usage = excluded.usage, cost = excluded.cost, updated_at = now()
    returning 1
  ), st as (
    select * from unnest($23::int[], $24::text[], $25::text[]) as st(w_ord, node_id, type)
  ), starts as (
    insert into node_runs (execution_id, node_id, type, status, attempts, started_at, updated_at)
    select distinct on (ok.exec_id, st.node_id) ok.exec_id, st.node_id, st.type, 'running', 1, now(), now()
    from st join ok on ok.ord = st.w_ord
    on conflict (execution_id, node_id, iteration) do update set status = 'running', attempts = 1, started_at = excluded.started_at,
      finished_at = null, duration_ms = null, error = null, updated_at = now()
    where node_runs.status in ${RESTARTABLE}
    returning 1
  ), counts as (
    select ok.exec_id, count(*)::int as n from ok join l on l.w_ord = ok.ord group by ok.exec_id
  ), seqs as (
    update executions e set log_seq = e.log_seq + c.n from counts c where e.id = c.exec_id returning e.id, e.log_seq as last
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
