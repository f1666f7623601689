import type pg from 'pg';
import {
  INITIAL_STATUS,
  nextStatus,
  statusesAllowing,
  type ExecutionStatus,
  type Priority,
} from '@linkflow/domain';
import { sqlStatus, sqlStatusList } from './status-sql.ts';

/** What the admin routes show about a dead-lettered execution, from Postgres. */
export interface DeadExecutionFacts {
  readonly id: string;
  readonly tenantId: string;
  readonly workflowId: string;
  readonly workflowName: string | null;
  readonly status: ExecutionStatus;
  /** How many times a worker took the execution (its fencing attempt). */
  readonly attempts: number;
  readonly priority: Priority;
  /** `settings.worker_tags` of the pinned version: the queue its job belongs in. */
  readonly workerTags: readonly string[];
}

/** The outcome of {@link DeadLetterStore.replay}. */
export type ReplayOutcome =
  | { readonly outcome: 'not_found' }
  /** failed → pending was recorded now. */
  | { readonly outcome: 'replayed' }
  /** Not failed: a replay that already ran (pending/running) or an execution that ended otherwise. */
  | { readonly outcome: 'not_failed'; readonly status: ExecutionStatus };

const REPLAYED_STATUS = nextStatus('failed', 'recover') ?? INITIAL_STATUS;

const FACTS_SQL = `select e.id, e.tenant_id, e.workflow_id, w.name as workflow_name, e.status, e.attempt,
    e.priority, coalesce(v.definition->'settings'->'worker_tags', '[]'::jsonb) as worker_tags
  from executions e
    left join workflows w on w.id = e.workflow_id
    left join workflow_versions v on v.workflow_id = e.workflow_id and v.version = e.workflow_version
  where e.id = any($1::text[])`;

/**
 * failed → pending (recorded with `$3` as reason). The run's clock restarts: `started_at`
 * and the lease are cleared (the next claim starts it again, and the sweeper sees a pending
 * execution without a lease at once). Node runs that did not finish (running, failed,
 * cancelled) go back to `pending` so they run again; succeeded and skipped ones are
 * checkpoints and never run again.
 */
const REPLAY_SQL = `with cur as (
    select id, status from executions where id = $1 for update
  ), upd as (
    update executions e set status = ${sqlStatus(REPLAYED_STATUS)}, error = null, output = null,
      finished_at = null, started_at = null, lease_owner = null, lease_expires_at = null, updated_at = $2
    from cur where e.id = cur.id and cur.status in ${sqlStatusList(statusesAllowing('recover'))}
    returning e.id, cur.status as from_status
  ), nodes as (
    update node_runs n set status = 'pending', error = null, finished_at = null, duration_ms = null,
      updated_at = now()
    from upd where n.execution_id = upd.id and n.status not in ('success', 'skipped')
  ), tr as (
    insert into execution_transitions (execution_id, from_status, to_status, at, reason)
    select id, from_status, ${sqlStatus(REPLAYED_STATUS)}, $2, $3 from upd
  )
  select cur.status, exists(select 1 from upd) as replayed from cur`;

function toTags(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
}

/**
 * Postgres side of the dead-letter queue's admin routes (operator scope: every tenant).
 * The DLQ entries themselves live in Redis; Postgres holds the executions they name.
 */
export function createDeadLetterStore(deps: { pool: pg.Pool }) {
  const { pool } = deps;
  return {
    /** Facts about each id that exists, keyed by id (one query for a page). */
    async facts(ids: readonly string[]): Promise<Map<string, DeadExecutionFacts>> {
      if (ids.length === 0) return new Map();
      const res = await pool.query<Record<string, unknown>>(FACTS_SQL, [ids]);
      return new Map(
        res.rows.map((r) => [
          r['id'] as string,
          {
            id: r['id'] as string,
            tenantId: r['tenant_id'] as string,
            workflowId: r['workflow_id'] as string,
            workflowName: (r['workflow_name'] as string | null) ?? null,
            status: r['status'] as ExecutionStatus,
            attempts: r['attempt'] as number,
            priority: r['priority'] as Priority,
            workerTags: toTags(r['worker_tags']),
          },
        ]),
      );
    },

    /**
     * Puts a failed execution back to pending so it runs again from its checkpoints, in one
     * statement (the transition is recorded with `reason`).
     */
    async replay(executionId: string, at: Date, reason: string): Promise<ReplayOutcome> {
      const res = await pool.query<{ status: ExecutionStatus; replayed: boolean }>(REPLAY_SQL, [
        executionId,
        at,
        reason,
      ]);
      const row = res.rows[0];
      if (!row) return { outcome: 'not_found' };
      return row.replayed ? { outcome: 'replayed' } : { outcome: 'not_failed', status: row.status };
    },
  };
}

/** See {@link createDeadLetterStore}. */
export type DeadLetterStore = ReturnType<typeof createDeadLetterStore>;
