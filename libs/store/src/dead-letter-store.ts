import type pg from 'pg';
import type { ExecutionStatus, Priority } from '@linkflow/domain';
import { createRecoveryRepository } from './recovery-repository.ts';

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
  | { readonly outcome: 'not_failed'; readonly status: ExecutionStatus }
  /** Failed, but retention deleted its node runs: nothing to resume from (a rerun would repeat every node). */
  | { readonly outcome: 'purged'; readonly status: ExecutionStatus };

const FACTS_SQL = `select e.id, e.tenant_id, e.workflow_id, w.name as workflow_name, e.status, e.attempt,
    e.priority, coalesce(v.definition->'settings'->'worker_tags', '[]'::jsonb) as worker_tags
  from executions e
    left join workflows w on w.id = e.workflow_id
    left join workflow_versions v on v.workflow_id = e.workflow_id and v.version = e.workflow_version
  where e.id = any($1::text[])`;

function toTags(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];
}

/**
 * Postgres side of the dead-letter queue's admin routes (operator scope: every tenant).
 * The DLQ entries themselves live in Redis; Postgres holds the executions they name.
 */
export function createDeadLetterStore(deps: { pool: pg.Pool }) {
  const { pool } = deps;
  const recovery = createRecoveryRepository({ pool });
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
     * Puts a failed execution back to pending so it runs again from its checkpoints (the
     * recover transition, recorded with `reason`; see the recovery repository).
     */
    async replay(executionId: string, at: Date, reason: string): Promise<ReplayOutcome> {
      const outcome = await recovery.recover(null, executionId, { at, reason });
      if (outcome.outcome === 'not_found') return { outcome: 'not_found' };
      if (outcome.outcome === 'recovered') return { outcome: 'replayed' };
      if (outcome.purged) return { outcome: 'purged', status: outcome.status };
      return { outcome: 'not_failed', status: outcome.status };
    },
  };
}

/** See {@link createDeadLetterStore}. */
export type DeadLetterStore = ReturnType<typeof createDeadLetterStore>;
