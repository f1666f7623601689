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
import { MicroBatcher, toStorableJsonText } from '@linkflow/domain';

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
    select r.*, r.output_box -> 0 as output
    from json_to_recordset($1::json) as r(ord int, exec_id text, attempt int, node_id text, type text, status text,
      attempts int, started_at timestamptz, finished_at timestamptz, duration_ms int, output_box jsonb, output_bytes int,
      error jsonb, attempt_log jsonb, usage jsonb, cost numeric, allow_cancelled bool, iteration int)
  ), l as (
    select * from json_to_recordset($2::json) as l(w_ord int, lpos int, at timestamptz, level text, node_id text,
      message text, data jsonb)
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
    select * from json_to_recordset($3::json) as st(w_ord int, node_id text, type text)
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
  ), firsts as (
    select w_ord, min(seq) as first_seq from numbered group by w_ord
  )
  select w.ord, o.ord is not null as written, f.first_seq
  from w left join ok o on o.ord = w.ord left join firsts f on f.w_ord = w.ord`;

/** A value as JSON text inside a row (null for none, or for what JSON cannot express). */
const jsonText = (v: unknown): string => (v === null ? 'null' : (JSON.stringify(v) ?? 'null'));

/**
 * One request as a JSON object of the `w` rows. The output is already JSON text and goes in
 * as it is (no second stringify), boxed in a one-element array: `json_to_recordset` would read
 * a bare JSON `null` output as SQL NULL, and a node that returned null stores jsonb `null`
 * (SQL NULL is a run with no output). The cost stays a string so the numeric is exact.
 */
function rowJson(r: CheckpointRequest, ord: number): string {
  const { run } = r;
  const output = run.outputJson === null ? 'null' : `[${run.outputJson}]`;
  // Written out rather than JSON.stringify on an object: its Dates (toJSON) and nested values
  // took most of a checkpoint's encoding. Strings still go through JSON.stringify.
  return (
    `{"ord":${ord},"exec_id":${JSON.stringify(r.fence.executionId)},"attempt":${num(r.fence.attempt)}` +
    `,"node_id":${JSON.stringify(run.nodeId)},"type":${JSON.stringify(run.type)}` +
    `,"status":${JSON.stringify(run.status)},"attempts":${num(run.attempts)}` +
    `,"started_at":${isoText(run.startedAt)},"finished_at":${isoText(run.finishedAt)}` +
    `,"duration_ms":${jsonText(run.durationMs)},"output_bytes":${num(run.outputBytes)}` +
    `,"error":${jsonText(run.error)},"attempt_log":${jsonText(run.attemptLog)}` +
    `,"usage":${jsonText(run.usage)},"cost":${JSON.stringify(run.cost)}` +
    `,"allow_cancelled":${r.whileStatus.includes(CANCELLED_STATUS)}` +
    `,"iteration":${num(run.iteration ?? -1)},"output_box":${output}}`
  );
}

/** A number as JSON (null for NaN and the infinities, as JSON.stringify writes them). */
const num = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

/** A time as a JSON string (null for none). */
const isoText = (at: Date | null): string => (at === null ? 'null' : `"${at.toISOString()}"`);

/** One log line as a JSON object of the `l` rows. */
function lineJson(log: NewLogEntry, wOrd: number, lpos: number): string {
  return (
    `{"w_ord":${wOrd},"lpos":${lpos},"at":${isoText(log.at)},"level":${JSON.stringify(log.level)}` +
    `,"node_id":${jsonText(log.nodeId)},"message":${JSON.stringify(log.message)}` +
    `,"data":${jsonText(log.data)}}`
  );
}

/**
 * The statement's three parameters, each a JSON array: the node runs (`w`), their log lines
 * (`l`, with the request they belong to and their position in the batch) and the nodes the
 * requests say are starting (`st`). One JSON text per table instead of an array per column:
 * the driver then escapes nothing element by element, which was most of a batch's encoding.
 */
function batchArgs(batch: readonly CheckpointRequest[]): [string, string, string] {
  const rows: string[] = [];
  const logs: string[] = [];
  const starts: { w_ord: number; node_id: string; type: string }[] = [];
  batch.forEach((r, i) => {
    const ord = i + 1;
    rows.push(rowJson(r, ord));
    for (const log of r.logs) logs.push(lineJson(log, ord, logs.length + 1));
    for (const start of r.run.starting ?? [])
      starts.push({ w_ord: ord, node_id: start.nodeId, type: start.type });
  });
  // An escaped NUL or lone surrogate anywhere would fail the whole parameter (every row of
  // the batch, and its own row for good); stored as U+FFFD instead.
  return [
    toStorableJsonText(`[${rows.join(',')}]`),
    toStorableJsonText(`[${logs.join(',')}]`),
    toStorableJsonText(JSON.stringify(starts)),
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
  const res = await pool.query<{ ord: number; written: boolean; first_seq: number | null }>({
    name: 'lf_checkpoints',
    text: BATCH_SQL,
    values: batchArgs(batch),
  });
  const byOrd = new Map(res.rows.map((r) => [r.ord, r]));
  // A request's lines are numbered consecutively (in order), so its first seq gives them all.
  return batch.map((request, i) => {
    const row = byOrd.get(i + 1);
    if (!row?.written) return undefined;
    const first = row.first_seq ?? 0;
    return request.logs.map((_, k) => first + k);
  });
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

/**
 * Checkpoints share commits across concurrent executions and a loop's parallel iterations
 * (one node run per row). A batch gathers for one event-loop turn: the lanes a commit wakes
 * reach their next checkpoint a few awaits apart and then share the next statement.
 */
export function createCheckpointBatcher(
  pool: pg.Pool,
): MicroBatcher<CheckpointRequest, number[] | undefined> {
  return new MicroBatcher({
    run: (batch) => writeCheckpoints(pool, batch),
    gather: 'turn',
    key: (r) => `${r.fence.executionId}\u0000${r.run.nodeId}\u0000${r.run.iteration ?? -1}`,
  });
}
