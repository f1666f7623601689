/**
 * Error workflows (`settings.on_error_workflow_id`): the SQL that starts one in the same
 * statement as the write that makes an execution `failed`, so the failure and the error
 * workflow's execution commit together or not at all. The new execution's idempotency key is
 * `on-error:<failed execution id>` (unique per tenant): a repeated final write can never
 * create a second one. Executions carrying that key are error-workflow runs and never start
 * another error workflow (no recursion).
 */
import { FAILED_STATUS, INITIAL_STATUS, RESERVED_IDEMPOTENCY_PREFIXES } from '@linkflow/domain';
import { sqlStatus } from './status-sql.ts';

/** Idempotency key prefix of error-workflow executions (reserved). */
export const ON_ERROR_KEY_PREFIX = RESERVED_IDEMPOTENCY_PREFIXES.onError;

/**
 * CTEs `spawn_src`, `spawn` and `spawn_tr` over `source`, a CTE with the columns id,
 * tenant_id, workflow_id, workflow_version, priority, idempotency_key, status, error and at
 * (the executions just written). Only `failed` ones whose pinned definition names an error
 * workflow of the same tenant (not deleted) start it, at its latest version. The error
 * workflow's row is locked `for share`, as POST /api/executions does: a delete that committed
 * meanwhile (it found no active execution) is seen, and nothing starts. `spawn` returns
 * (id, tenant_id, priority, source_id, worker_tags).
 */
export function spawnErrorWorkflowCtes(source: string): string {
  return `spawn_src as (
    select s.id as source_id, s.tenant_id, s.priority, s.at, w.id as target_id, w.latest_version,
      tv.definition->'settings'->'worker_tags' as worker_tags,
      jsonb_build_object('execution_id', s.id, 'workflow_id', s.workflow_id,
        'failed_node', s.error->'node_id', 'error', s.error) as input
    from ${source} s
    join workflow_versions sv on sv.workflow_id = s.workflow_id and sv.version = s.workflow_version
    join workflows w on w.id = sv.definition->'settings'->>'on_error_workflow_id'
      and w.tenant_id = s.tenant_id and w.deleted_at is null
    join workflow_versions tv on tv.workflow_id = w.id and tv.version = w.latest_version
    where s.status = ${sqlStatus(FAILED_STATUS)}
      and (s.idempotency_key is null or s.idempotency_key not like '${ON_ERROR_KEY_PREFIX}%')
    for share of w
  ), spawn as (
    insert into executions (id, tenant_id, workflow_id, workflow_version, status, priority, input_data,
      idempotency_key, created_at, updated_at)
    select gen_random_uuid()::text, tenant_id, target_id, latest_version, ${sqlStatus(INITIAL_STATUS)},
      priority, input, '${ON_ERROR_KEY_PREFIX}' || source_id, at, at
    from spawn_src
    on conflict (tenant_id, idempotency_key) do nothing
    returning id, tenant_id, priority, substr(idempotency_key, ${ON_ERROR_KEY_PREFIX.length + 1}) as source_id, created_at
  ), spawn_tr as (
    insert into execution_transitions (execution_id, from_status, to_status, at, reason)
    select id, null, ${sqlStatus(INITIAL_STATUS)}, created_at, 'error workflow of ' || source_id from spawn
  )`;
}

/** A started error-workflow execution as a final write returns it. */
export interface SpawnedRow {
  readonly spawned_id: string | null;
  readonly spawned_tenant: string | null;
  readonly spawned_priority: string | null;
  readonly spawned_tags: string[] | null;
}

/** Columns of the final select that name the error-workflow execution `r.id` started. */
export const SPAWN_COLUMNS = `sp.id as spawned_id, sp.tenant_id as spawned_tenant, sp.priority as spawned_priority,
    (select coalesce(array_agg(t), '{}') from jsonb_array_elements_text(coalesce(ss.worker_tags, '[]'::jsonb)) t) as spawned_tags`;

/** Joins for SPAWN_COLUMNS, `alias` being the relation whose `id` is the failed execution. */
export function spawnJoins(alias: string): string {
  return `left join spawn sp on sp.source_id = ${alias}.id left join spawn_src ss on ss.source_id = ${alias}.id`;
}
