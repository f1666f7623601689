/**
 * SQL of the executor's run store. Every statement is multi-row (one round trip and one
 * commit for a whole batch, see MicroBatcher) and every write is fenced by
 * (execution id, attempt). Rows come back with `ord`, the 1-based position of their request.
 */
import {
  ACTIVE_STATUSES,
  CLAIMABLE_STATUSES,
  CLAIMED_STATUS,
  DEFAULT_MAX_CONCURRENCY,
  FAILED_STATUS,
  RECOVERED_STATUS,
  statusesAllowing,
} from '@linkflow/domain';
import { rollupCtes } from './cost-rollup-sql.ts';
import { WAITING_ON_CHILDREN } from './child-execution-sql.ts';
import { MAX_MONEY_SQL } from './money-sql.ts';
import { spawnErrorWorkflowCtes, SPAWN_COLUMNS, spawnJoins } from './error-workflow-sql.ts';
import { sqlStatus, sqlStatusList } from './status-sql.ts';

const CLAIMED = sqlStatus(CLAIMED_STATUS);
const RECOVERED = sqlStatus(RECOVERED_STATUS);

/**
 * Node run rows a start may turn `running`: one left `running` by an earlier attempt, or one
 * a recover put back to `pending` (the node reruns). Settled rows are never touched.
 */
export const RESTARTABLE = `('running', 'pending')`;

/**
 * pending|running (claimable) → running (claimed), attempt + 1, leased to $3 for $4 ms; returns
 * the pinned definition, whether it is a recovered execution (pending again after a
 * `failed → pending` or `running → pending` transition, claimed before or not) and, on a
 * resume (a re-take, or a recovered execution), the checkpoints. The root nodes (no incoming
 * edge) that have not settled are recorded `running`, the first `max_concurrency` of them in
 * definition order: they start right after the claim (the engine's StartLedger counts the
 * same ones; later roots are marked as they start). Scope members (a foreach body, a try's
 * lists) are no roots: their scope node runs them.
 */
export const CLAIM_SQL = `with req as (
    select * from unnest($1::text[], $2::timestamptz[]) with ordinality as r(id, at, ord)
  ), cur as (
    select e.id, e.status from executions e join req on req.id = e.id order by e.id for update of e
  ), upd as (
    update executions e set status = ${CLAIMED}, attempt = e.attempt + 1, lease_owner = $3,
      lease_expires_at = now() + $4::int * interval '1 millisecond', started_at = coalesce(e.started_at, req.at), updated_at = req.at
    from cur join req on req.id = cur.id
    where e.id = cur.id and cur.status in ${sqlStatusList(CLAIMABLE_STATUSES)}
    returning e.id, e.tenant_id, e.workflow_id, e.workflow_version, e.input_data, e.attempt, e.timeout_seconds,
      e.created_at, e.started_at, e.priority, e.parent_execution_id, cur.status as prev_status, req.at
  ), tr as (
    insert into execution_transitions (execution_id, from_status, to_status, at, reason)
    select id, prev_status, ${CLAIMED}, at, 'picked up by ' || $3 from upd
    where prev_status in ${sqlStatusList(statusesAllowing('start'))}
  ), roots as (
    insert into node_runs (execution_id, node_id, type, status, attempts, started_at, updated_at)
    select upd.id, r.n->>'id', coalesce(r.n->>'type', 'unknown'), 'running', 1, upd.at, now()
    from upd join workflow_versions wv on wv.workflow_id = upd.workflow_id and wv.version = upd.workflow_version
      cross join lateral (
        select x.n from jsonb_array_elements(wv.definition->'nodes') with ordinality as x(n, ord)
        where x.n->>'id' is not null
          and not exists (select 1 from jsonb_array_elements(wv.definition->'edges') ed where ed->>'to' = x.n->>'id')
          and not exists (select 1 from node_runs s where s.execution_id = upd.id and s.node_id = x.n->>'id'
            and s.iteration = -1 and s.status not in ${RESTARTABLE})
          and not exists (select 1 from jsonb_array_elements(wv.definition->'nodes') sc
            where sc->>'type' in ('foreach', 'try') and (coalesce(sc->'config'->'body', '[]') ? (x.n->>'id')
              or coalesce(sc->'config'->'try', '[]') ? (x.n->>'id') or coalesce(sc->'config'->'catch', '[]') ? (x.n->>'id')
              or coalesce(sc->'config'->'finally', '[]') ? (x.n->>'id')))
        order by x.ord limit coalesce((wv.definition->'settings'->>'max_concurrency')::int, ${DEFAULT_MAX_CONCURRENCY})
      ) r
    on conflict (execution_id, node_id, iteration) do update set status = 'running', attempts = 1, started_at = excluded.started_at,
      finished_at = null, duration_ms = null, error = null, updated_at = now()
    where node_runs.status in ${RESTARTABLE}
  )
  select req.ord::int as ord, cur.status as current_status, upd.id as claimed_id, upd.tenant_id, upd.workflow_id,
    upd.workflow_version, upd.input_data, upd.attempt, upd.timeout_seconds, upd.created_at, upd.started_at,
    upd.priority, upd.parent_execution_id, upd.prev_status, v.definition, rec.recovered,
    case when upd.prev_status = ${CLAIMED} or upd.attempt > 1 or rec.recovered then (
      select coalesce(json_agg(json_build_object('node_id', n.node_id, 'iteration', n.iteration, 'status', n.status, 'output', n.output,
        'error', n.error, 'attempts', n.attempts, 'cost', n.cost::text)), '[]'::json) from node_runs n where n.execution_id = upd.id)
    else '[]'::json end as checkpoints
  from req left join cur on cur.id = req.id left join upd on upd.id = req.id
    left join workflow_versions v on v.workflow_id = upd.workflow_id and v.version = upd.workflow_version
    left join lateral (select upd.prev_status = ${RECOVERED} and exists (select 1 from execution_transitions t
      where t.execution_id = upd.id and t.to_status = ${RECOVERED} and t.from_status is not null) as recovered) rec on true`;

/**
 * running → success|failed with output, error, summed cost, the transition and the last log
 * lines, and its cost rolled up (cost-rollup-sql.ts); a `failed` one starts its error workflow in the same statement (error-workflow-sql.ts). Node runs still `running` end `cancelled` (with the TIMEOUT error on a timeout), timed,
 * as the engine records a node it aborts.
 */
export const FINISH_SQL = `with r as (
    select * from unnest($1::text[], $2::int[], $3::text[], $4::jsonb[], $5::jsonb[], $6::timestamptz[], $7::text[])
      with ordinality as r(id, attempt, status, output, error, at, reason, ord)
  ), l as (
    select * from unnest($8::int[], $9::timestamptz[], $10::text[], $11::text[], $12::text[], $13::jsonb[])
      with ordinality as l(r_ord, at, level, node_id, message, data, lpos)
  ), lc as (
    select r_ord, count(*)::int as n from l group by r_ord
  ), upd as (
    update executions e set status = r.status, output = r.output, error = r.error, finished_at = r.at, updated_at = r.at,
      cost_total = least((select coalesce(sum(n.cost), 0) from node_runs n where n.execution_id = e.id), ${MAX_MONEY_SQL}),
      log_seq = e.log_seq + coalesce(lc.n, 0)
    from r left join lc on lc.r_ord = r.ord
    where e.id = r.id and e.attempt = r.attempt and e.status = ${CLAIMED}
    returning e.id, e.log_seq, r.ord, coalesce(lc.n, 0) as n, r.status, r.at, r.reason, r.error,
      e.tenant_id, e.workflow_id, e.workflow_version, e.priority, e.idempotency_key, e.created_at, e.cost_total
  ), ${spawnErrorWorkflowCtes('upd')}, ${rollupCtes('upd', 1)}, unsettled as (
    update node_runs nr set status = 'cancelled',
      error = case when upd.error->>'type' = 'TIMEOUT' then upd.error
        else '{"type":"CANCELLATION","message":"the execution ended before the node finished"}'::jsonb end,
      finished_at = upd.at, updated_at = upd.at,
      duration_ms = greatest(0, floor(extract(epoch from upd.at - nr.started_at) * 1000))::int
    from upd where nr.execution_id = upd.id and nr.status = 'running'
  ), tr as (
    insert into execution_transitions (execution_id, from_status, to_status, at, reason)
    select id, ${CLAIMED}, status, at, reason from upd
  ), numbered as (
    select l.r_ord, l.lpos, upd.id, l.at, l.level, l.node_id, l.message, l.data,
      (upd.log_seq - upd.n + row_number() over (partition by l.r_ord order by l.lpos))::int as seq
    from l join upd on upd.ord = l.r_ord
  ), ins as (
    insert into execution_logs (execution_id, seq, at, level, node_id, message, data)
    select id, seq, at, level, node_id, message, data from numbered returning 1
  )
  select r.ord::int as ord, exists(select 1 from upd where upd.ord = r.ord) as written,
    coalesce((select array_agg(n.seq order by n.lpos) from numbered n where n.r_ord = r.ord), '{}') as seqs,
    ${SPAWN_COLUMNS}
  from r ${spawnJoins('r')}`;

/** Execution-level log lines, fenced on the attempt only (also after the final status). */
export const APPEND_FENCED_LOGS_SQL = `with s as (update executions set log_seq = log_seq + $2 where id = $1 and attempt = $8 returning log_seq)
  insert into execution_logs (execution_id, seq, at, level, node_id, message, data)
  select $1, s.log_seq - $2 + t.ord, t.at, t.level, t.node_id, t.message, t.data
  from s, unnest($3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
    with ordinality as t(at, level, node_id, message, data, ord)
  returning seq`;

/**
 * Records nodes `running` that start without a checkpoint having announced them (ready at a
 * resume, or made ready by a skipped branch): fenced on (id, attempt, running); a row that
 * settled meanwhile is left alone, one left `running` by an earlier attempt restarts.
 */
export const MARK_STARTED_SQL = `with e as (
    select id from executions where id = $1 and attempt = $2 and status = ${CLAIMED} for no key update
  )
  insert into node_runs (execution_id, node_id, type, status, attempts, started_at, updated_at)
  select e.id, s.node_id, s.type, 'running', 1, $5, now()
  from e cross join unnest($3::text[], $4::text[]) as s(node_id, type)
  on conflict (execution_id, node_id, iteration) do update set status = 'running', attempts = 1, started_at = excluded.started_at,
    finished_at = null, duration_ms = null, error = null, updated_at = now()
  where node_runs.status in ${RESTARTABLE}`;

/**
 * A job that could not be processed (dead-lettered): pending|running → failed, recorded and
 * rolled up (cost-rollup-sql.ts). Node
 * runs still `running` (the crashed worker's, or the claim's roots) end `cancelled`, timed, as
 * a final write records them: none stays `running` on a failed execution. Starts the error
 * workflow as FINISH_SQL does (the sweeper enqueues it once its pending grace has passed).
 */
export const MARK_DEAD_SQL = `with cur as (
    select id, status from executions where id = $1 and status in ${sqlStatusList(statusesAllowing('fail'))} for update
  ), upd as (
    update executions e set status = ${sqlStatus(FAILED_STATUS)}, error = $2, finished_at = $3, updated_at = $3
    from cur where e.id = cur.id returning e.id, cur.status as from_status, e.status, e.error, e.finished_at as at,
      e.tenant_id, e.workflow_id, e.workflow_version, e.priority, e.idempotency_key, e.created_at, e.cost_total
  ), ${spawnErrorWorkflowCtes('upd')}, ${rollupCtes('upd', 1)}, unsettled as (
    update node_runs nr set status = 'cancelled',
      error = '{"type":"CANCELLATION","message":"the execution ended before the node finished"}'::jsonb,
      finished_at = $3, updated_at = $3,
      duration_ms = greatest(0, floor(extract(epoch from $3 - nr.started_at) * 1000))::int
    from upd where nr.execution_id = upd.id and nr.status = 'running'
  ), tr as (
    insert into execution_transitions (execution_id, from_status, to_status, at, reason)
    select id, from_status, ${sqlStatus(FAILED_STATUS)}, $3, $4 from upd
  )
  select count(*)::int as n from upd`;

/**
 * Extends the leases of the runs one worker holds (`$1` ids, `$2` attempts) by `$3` ms, in
 * one statement. Rows are locked in id order, as the checkpoint batch does, so the two cannot
 * deadlock. Returns every run: `renewed` ones with their current `timeout_seconds` (a change
 * whose control signal was lost still reaches the run), the others with their current status
 * and attempt (taken over, cancelled, finished or gone).
 */
export const RENEW_LEASES_SQL = `with r as (
    select * from unnest($1::text[], $2::int[]) as r(id, attempt)
  ), held as (
    select e.id from executions e join r on r.id = e.id and r.attempt = e.attempt
    where e.status = ${CLAIMED} order by e.id for no key update of e
  ), upd as (
    update executions e set lease_expires_at = now() + $3::int * interval '1 millisecond'
    from held where e.id = held.id returning e.id, e.timeout_seconds
  )
  select r.id, r.attempt as held_attempt, e.status, e.attempt, upd.id is not null as renewed, upd.timeout_seconds
  from r left join executions e on e.id = r.id left join upd on upd.id = r.id`;

/** Ends a lease now (fenced), so the sweeper may hand the run to another worker at once. */
export const RELEASE_LEASE_SQL = `update executions set lease_expires_at = now()
  where id = $1 and attempt = $2 and status = ${CLAIMED}`;

/**
 * Non-terminal executions nobody holds: running with an expired lease, or pending (no lease)
 * for longer than `$1` ms; not a parent parked on live children (WAITING_ON_CHILDREN). With
 * their workflow's `worker_tags` (the queue their job belongs in). Keyset-paged on (created_at, id) after `$2`/`$3`, `$4` at a time.
 */
export const ORPHANS_SQL = `select id, tenant_id, priority, status, created_at, updated_at,
    (select v.definition->'settings'->'worker_tags' from workflow_versions v
      where v.workflow_id = executions.workflow_id and v.version = executions.workflow_version) as worker_tags
  from executions
  where status in ${sqlStatusList(ACTIVE_STATUSES)}
    and coalesce(lease_expires_at, created_at + $1::int * interval '1 millisecond') < now()
    and not ${WAITING_ON_CHILDREN}
    and ($2::timestamptz is null or (created_at, id) > ($2::timestamptz, $3::text))
  order by created_at, id limit $4`;
