import type pg from 'pg';
import {
  CLAIMED_STATUS,
  FAILED_STATUS,
  RECOVERED_STATUS,
  statusesAllowing,
  type ExecutionStatus,
  type NodeStatus,
  type Priority,
} from '@linkflow/domain';
import { rollupCtes, TERMINAL_LIST } from './cost-rollup-sql.ts';
import { sqlStatus, sqlStatusList } from './status-sql.ts';

/** Node run statuses that are checkpoints: a resume never runs such a node again. */
const CHECKPOINTED: readonly NodeStatus[] = ['success', 'failed', 'skipped', 'cancelled'];
/** Node runs a recovery runs again (and the `running` rows an interrupted attempt left). */
const RERUN: readonly NodeStatus[] = ['failed', 'cancelled', 'running'];

const list = (values: readonly string[]) => `(${values.map((v) => `'${v}'`).join(', ')})`;

/**
 * `$1` of tenant `$2` back to pending (at `$3`, reason `$4`) when it failed (its cost leaves the
 * rollups: it is rolled up again when it ends anew), or when it is
 * running and its lease has expired or was released (the holder is gone), and retention has
 * not purged it (its node runs are gone: a rerun would repeat every node, side effects
 * included). Retention locks the rows it purges, so a recover waits for it and then sees
 * `purged_at`. Its failed,
 * cancelled and interrupted node runs go back to `pending` (rerun); successes and skips stay
 * as checkpoints. `started_at`, `finished_at`, output and error are cleared: the resumed run
 * gets a fresh start (its timeout counts from it); the transitions keep the history.
 */
const RECOVER_SQL = `with cur as (
    select id, status, priority, workflow_id, workflow_version, lease_expires_at > now() as lease_live,
      purged_at is not null as purged
    from executions where id = $1 and ($2::text is null or tenant_id = $2) for update
  ), upd as (
    update executions e set status = ${sqlStatus(RECOVERED_STATUS)}, error = null, output = null, started_at = null,
      finished_at = null, lease_owner = null, lease_expires_at = null, updated_at = $3
    from cur where e.id = cur.id and not cur.purged and cur.status in ${sqlStatusList(statusesAllowing('recover'))}
      and (cur.status = ${sqlStatus(FAILED_STATUS)} or (cur.status = ${sqlStatus(CLAIMED_STATUS)} and not coalesce(cur.lease_live, false)))
    returning e.id, cur.status as from_status, e.tenant_id, e.workflow_id, e.created_at, e.cost_total
  ), ${rollupCtes(`(select * from upd where from_status in ${TERMINAL_LIST})`, -1)}, tr as (
    insert into execution_transitions (execution_id, from_status, to_status, at, reason)
    select id, from_status, ${sqlStatus(RECOVERED_STATUS)}, $3, $4 from upd
  ), nodes as (
    update node_runs nr set status = 'pending', finished_at = null, duration_ms = null, error = null, output = null,
      output_bytes = 0, updated_at = $3
    from upd where nr.execution_id = upd.id and nr.status in ${list(RERUN)}
  )
  select cur.status as before, cur.priority, coalesce(cur.lease_live, false) as lease_live, cur.purged,
    exists(select 1 from upd) as changed,
    coalesce(v.definition->'settings'->'worker_tags', '[]'::jsonb) as worker_tags
  from cur left join workflow_versions v on v.workflow_id = cur.workflow_id and v.version = cur.workflow_version`;

const CHECKPOINTS_SQL = `select node_id, iteration, type, status, attempts, output_bytes, finished_at from node_runs
  where execution_id = $1 and status in ${list(CHECKPOINTED)} order by finished_at nulls first, node_id, iteration`;

/** What a recovery did. */
export type RecoverOutcome =
  | { readonly outcome: 'not_found' }
  | {
      readonly outcome: 'recovered';
      readonly from: ExecutionStatus;
      readonly priority: Priority;
      /** `settings.worker_tags` of the pinned version: the queue its job belongs in. */
      readonly workerTags: readonly string[];
    }
  | {
      readonly outcome: 'refused';
      readonly status: ExecutionStatus;
      /** A running execution refused because its holder's lease is live. */
      readonly leaseLive: boolean;
      /** Refused because retention deleted its node runs (nothing to resume from). */
      readonly purged: boolean;
    };

/** One node's checkpoint as stored. */
export interface CheckpointRecord {
  readonly nodeId: string;
  /** The foreach iteration of a run inside a loop body; undefined outside loops. */
  readonly iteration?: number;
  readonly type: string;
  readonly status: NodeStatus;
  readonly attempts: number;
  readonly outputBytes: number;
  /** When the node settled (null for a node settled without running, e.g. skipped). */
  readonly at: Date | null;
}

/** Checkpoint inspection and recovery of failed or abandoned executions. */
export function createRecoveryRepository(deps: { pool: pg.Pool }) {
  const { pool } = deps;
  return {
    /**
     * Puts a failed, or abandoned running, execution back to pending; see RECOVER_SQL.
     * `tenantId` null: any tenant's (the operator's dead-letter replay).
     */
    async recover(
      tenantId: string | null,
      id: string,
      change: { at: Date; reason: string },
    ): Promise<RecoverOutcome> {
      const res = await pool.query<{
        before: ExecutionStatus;
        priority: Priority;
        lease_live: boolean;
        purged: boolean;
        changed: boolean;
        worker_tags: unknown;
      }>(RECOVER_SQL, [id, tenantId, change.at, change.reason]);
      const row = res.rows[0];
      if (!row) return { outcome: 'not_found' };
      if (!row.changed)
        return {
          outcome: 'refused',
          status: row.before,
          leaseLive: row.lease_live,
          purged: row.purged,
        };
      const tags = Array.isArray(row.worker_tags) ? row.worker_tags : [];
      return {
        outcome: 'recovered',
        from: row.before,
        priority: row.priority,
        workerTags: tags.filter((t): t is string => typeof t === 'string'),
      };
    },

    /** The settled nodes of an execution (the caller checks the tenant). */
    async checkpoints(executionId: string): Promise<CheckpointRecord[]> {
      const res = await pool.query<{
        node_id: string;
        iteration: number;
        type: string;
        status: NodeStatus;
        attempts: number;
        output_bytes: number;
        finished_at: Date | null;
      }>(CHECKPOINTS_SQL, [executionId]);
      return res.rows.map((r) => ({
        nodeId: r.node_id,
        ...(r.iteration < 0 ? {} : { iteration: r.iteration }),
        type: r.type,
        status: r.status,
        attempts: r.attempts,
        outputBytes: r.output_bytes,
        at: r.finished_at,
      }));
    },
  };
}

export type RecoveryRepository = ReturnType<typeof createRecoveryRepository>;
