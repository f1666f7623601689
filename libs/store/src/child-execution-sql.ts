/**
 * SQL of subworkflow child executions (see child-execution-store.ts). A child row carries
 * `parent_execution_id`, `parent_node_id`, `parent_attempt` (the parent's claim that started
 * it; unique together, so one claim starts at most one child per node) and `depth`. A parent
 * node has several children only when a recovered parent reran it after its child failed or
 * was cancelled; its *current* child is the newest (NEWEST_FIRST), the others are superseded.
 * The parent's node run names the child it waits on (`output.child_execution_id`). A parent
 * whose only running nodes wait on children is *parked* (`parked_at` set, lease released, no
 * job); the child's final write wakes it.
 */
import {
  ACTIVE_STATUSES,
  CANCELLED_STATUS,
  CLAIMED_STATUS,
  EXECUTION_STATUSES,
  INITIAL_STATUS,
  isTerminal,
} from '@linkflow/domain';
import { sqlStatus, sqlStatusList } from './status-sql.ts';

const CLAIMED = sqlStatus(CLAIMED_STATUS);
const ACTIVE = sqlStatusList(ACTIVE_STATUSES);
const TERMINAL = sqlStatusList(EXECUTION_STATUSES.filter((s) => isTerminal(s)));

/**
 * Idempotency key prefix of child executions (`sub:<parent id>:<node id>:<parent attempt>`, per
 * tenant; children started before the per-attempt key have `sub:<parent id>:<node id>`).
 */
export const CHILD_KEY_PREFIX = 'sub:';

/**
 * Orders a parent node's children newest first: by the parent attempt that started them
 * (children from before `parent_attempt` existed have none and were the only child of their
 * node), then by creation.
 */
const NEWEST_FIRST = `parent_attempt desc nulls last, created_at desc, id desc`;

/** Locks the parent while this claim holds it: `$1` id, `$2` attempt. */
export const LOCK_PARENT_SQL = `select tenant_id, workflow_id, priority, depth from executions
  where id = $1 and attempt = $2 and status = ${CLAIMED} for no key update`;

/**
 * The current (newest) child of parent `$1`'s node `$2`, whatever its status, and whether the
 * parent's node run names it (`awaited`: the node started it, or adopted it, and waits on it
 * or settles with it; false once a recover put the node back to pending, which clears the
 * node run's output).
 */
export const FIND_CHILD_SQL = `select c.id, c.status, c.output, c.error, c.cost_total::text as cost,
    exists (select 1 from node_runs nr where nr.execution_id = $1 and nr.node_id = $2 and nr.iteration = -1
      and nr.output->>'child_execution_id' = c.id) as awaited
  from executions c where c.parent_execution_id = $1 and c.parent_node_id = $2
  order by ${NEWEST_FIRST} limit 1`;

/**
 * Names a child on its parent's node run, inserted `running` when the claim has not recorded
 * the row yet (the arguments are the statement's placeholders). Only an unsettled row:
 * `running`, or `pending` after a recover (the engine marks it running later and keeps the
 * output).
 */
const nameChildOnNode = (p: { parent: string; node: string; child: string; at: string }) =>
  `insert into node_runs (execution_id, node_id, type, status, attempts, started_at, updated_at, output)
  values (${p.parent}, ${p.node}, 'subworkflow', 'running', 1, ${p.at}, now(),
    jsonb_build_object('child_execution_id', ${p.child}::text))
  on conflict (execution_id, node_id, iteration) do update set output = excluded.output
  where node_runs.status in ('running', 'pending')`;

/**
 * Names child `$3` on parent `$1`'s node run `$2` (at `$4`): a rerun node adopts the live child
 * an earlier attempt started, so that a resume after a crash settles with that child.
 */
export const ADOPT_CHILD_SQL = nameChildOnNode({ parent: '$1', node: '$2', child: '$3', at: '$4' });

/**
 * The target definition of tenant `$2`'s live workflow `$1` at version `$3` (its latest when
 * null), with its worker tags. `$3` is cast to bigint: a pinned version past int4 (the config
 * schema only says integer) finds nothing instead of failing the statement, which would
 * retry the parent's job into the dead-letter queue.
 */
export const TARGET_SQL = `select w.id, v.version,
    (select coalesce(array_agg(t), '{}') from jsonb_array_elements_text(
      coalesce(v.definition->'settings'->'worker_tags', '[]'::jsonb)) t) as worker_tags
  from workflows w join workflow_versions v on v.workflow_id = w.id and v.version = coalesce($3::bigint, w.latest_version)
  where w.id = $1 and w.tenant_id = $2 and w.deleted_at is null`;

/** The workflow ids of execution `$1` and of every execution above it. */
export const ANCESTOR_WORKFLOWS_SQL = `with recursive a(id, workflow_id, parent) as (
    select id, workflow_id, parent_execution_id from executions where id = $1
    union all
    select e.id, e.workflow_id, e.parent_execution_id from executions e join a on e.id = a.parent
  ) select workflow_id from a`;

/**
 * How many executions the family of `$1` holds (its root and every descendant), counted up
 * to `$2` (the count stops there: a family past the limit costs no more to ask about).
 */
export const FAMILY_SIZE_SQL = `with recursive up(id, parent) as (
    select id, parent_execution_id from executions where id = $1
    union all
    select e.id, e.parent_execution_id from executions e join up on e.id = up.parent
  ), down(id) as (
    select id from up where parent is null
    union all
    select e.id from executions e join down on e.parent_execution_id = down.id
  ) select count(*)::int as n from (select 1 from down limit $2) f`;

/**
 * Inserts the pending child (`$1`) of parent `$7`'s node `$8`, started by the parent's attempt
 * `$11`, with its first transition, and names it on the parent's node run (its output while it
 * waits; the view also joins it).
 */
export const INSERT_CHILD_SQL = `with ins as (
    insert into executions (id, tenant_id, workflow_id, workflow_version, status, priority, input_data,
      idempotency_key, parent_execution_id, parent_node_id, parent_attempt, depth, created_at, updated_at)
    values ($1, $2, $3, $4, ${sqlStatus(INITIAL_STATUS)}, $5, $6,
      '${CHILD_KEY_PREFIX}' || $7 || ':' || $8 || ':' || $11::int, $7, $8, $11, $9, $10, $10)
    returning id
  ), tr as (
    insert into execution_transitions (execution_id, from_status, to_status, at, reason)
    select id, null, ${sqlStatus(INITIAL_STATUS)}, $10, 'subworkflow node ' || $8 || ' of ' || $7 from ins
  )
  ${nameChildOnNode({ parent: '$7', node: '$8', child: '$1', at: '$10' })}`;

/**
 * A current child of `executions.id` that ended while its parent node still runs: the parent
 * has something to settle (or, after a recover, a new child to start). A superseded child (a
 * newer one of the same node exists) does not count: the node waits on the newer one.
 */
const SETTLEABLE_CHILD = `exists (select 1 from executions c
    join node_runs nr on nr.execution_id = c.parent_execution_id and nr.node_id = c.parent_node_id
    where c.parent_execution_id = executions.id and c.status in ${TERMINAL} and nr.status = 'running'
      and not exists (select 1 from executions n where n.parent_execution_id = c.parent_execution_id
        and n.parent_node_id = c.parent_node_id and n.parent_attempt > coalesce(c.parent_attempt, 0)))`;

/**
 * Parks the (locked, see LOCK_PARENT_SQL) parent `$1` at attempt `$2`: marks it, ends its
 * lease; not when a child it waits on has already ended (it then continues at once).
 */
export const PARK_SQL = `update executions set parked_at = $3, lease_expires_at = now()
  where id = $1 and attempt = $2 and status = ${CLAIMED} and not ${SETTLEABLE_CHILD}
  returning id`;

/**
 * Unparks the parent of the execution `$1` (which just ended), returning what its job needs;
 * nothing when it has no parent or the parent is not parked (it is running and will see the
 * child itself, or it ended).
 */
export const WAKE_PARENT_SQL = `update executions p set parked_at = null
  from executions c, workflow_versions v
  where c.id = $1 and p.id = c.parent_execution_id and p.parked_at is not null and p.status = ${CLAIMED}
    and v.workflow_id = p.workflow_id and v.version = p.workflow_version
  returning p.id, p.tenant_id, p.priority,
    (select coalesce(array_agg(t), '{}') from jsonb_array_elements_text(
      coalesce(v.definition->'settings'->'worker_tags', '[]'::jsonb)) t) as worker_tags`;

/**
 * Cancels every active execution below `$1` (children, recursively), with transitions; their
 * running node runs end `cancelled`. `$2` at, `$3` error, `$4` reason. Returns each with the
 * status it had.
 */
export const CANCEL_DESCENDANTS_SQL = `with recursive d(id) as (
    select id from executions where parent_execution_id = $1
    union all
    select e.id from executions e join d on e.parent_execution_id = d.id
  ), cur as (
    select e.id, e.status from executions e join d on d.id = e.id
    where e.status in ${ACTIVE} order by e.id for update of e
  ), upd as (
    update executions e set status = ${sqlStatus(CANCELLED_STATUS)}, finished_at = $2, updated_at = $2,
      error = $3, parked_at = null
    from cur where e.id = cur.id returning e.id, cur.status as from_status
  ), tr as (
    insert into execution_transitions (execution_id, from_status, to_status, at, reason)
    select id, from_status, ${sqlStatus(CANCELLED_STATUS)}, $2, $4 from upd
  ), nodes as (
    update node_runs nr set status = 'cancelled', error = $3, finished_at = $2, updated_at = $2,
      duration_ms = greatest(0, floor(extract(epoch from $2::timestamptz - nr.started_at) * 1000))::int
    from upd where nr.execution_id = upd.id and nr.status = 'running'
  )
  select id, from_status from upd`;

/** Ended parents that still have active children (a cancel cascade that never ran), `$1` at most. */
export const ABANDONED_PARENTS_SQL = `select distinct c.parent_execution_id as id from executions c
  join executions p on p.id = c.parent_execution_id
  where c.status in ${ACTIVE} and c.parent_execution_id is not null and p.status in ${TERMINAL}
  limit $1`;

/**
 * For the sweeper's orphan query (over `executions`): a parked execution that waits only on
 * live children and whose own timeout has not passed. Its lease is released on purpose and
 * it has no job; the child's final write wakes it. Once a child ended with nobody waking the
 * parent (a crash in between), or its timeout passed, it is an orphan again: the sweeper
 * enqueues it, and the resumed run settles the node (or times out and cancels the children).
 */
export const WAITING_ON_CHILDREN = `(executions.parked_at is not null and not ${SETTLEABLE_CHILD}
    and coalesce(executions.started_at + coalesce(executions.timeout_seconds::bigint * 1000,
      (select (wv.definition->'settings'->>'timeout_ms')::bigint from workflow_versions wv
        where wv.workflow_id = executions.workflow_id and wv.version = executions.workflow_version))
      * interval '1 millisecond', 'infinity'::timestamptz) > now())`;

/**
/**
 * An execution's (alias `e`) place among subworkflows: its parent, depth and children (by
 * node, oldest first, superseded ones included: a node's current child is its last). Shared
 * by FAMILY_SQL and the API's one-statement detail read.
 */
export const FAMILY_COLUMNS = `e.parent_execution_id, e.parent_node_id, e.depth,
    coalesce((select json_agg(json_build_object('node_id', c.parent_node_id, 'execution_id', c.id,
      'status', c.status) order by c.created_at, c.parent_attempt nulls first, c.id)
      from executions c where c.parent_execution_id = e.id), '[]'::json)
      as children`;

/** Execution `$1`'s place among subworkflows: its parent, depth and children (by node). */
export const FAMILY_SQL = `select ${FAMILY_COLUMNS} from executions e where e.id = $1`;
