import type pg from 'pg';
import { EXECUTION_STATUSES, isTerminal } from '@linkflow/domain';
import { sqlStatusList } from './status-sql.ts';

const TERMINAL = sqlStatusList(EXECUTION_STATUSES.filter(isTerminal));

/**
 * One retention batch, one short transaction: up to `$2` terminal executions that finished
 * before `$1` and were not purged yet (oldest first; rows another purger holds are skipped)
 * lose their node runs and logs, and are marked purged (their summary and transitions stay),
 * or with `$3` are deleted (transitions go with them).
 */
const PURGE_SQL = `with picked as (
    select id from executions
    where purged_at is null and finished_at < $1 and status in ${TERMINAL}
    order by finished_at limit $2 for update skip locked
  ), logs as (
    delete from execution_logs l using picked where l.execution_id = picked.id returning 1
  ), runs as (
    delete from node_runs n using picked where n.execution_id = picked.id returning 1
  ), marked as (
    update executions e set purged_at = now() from picked where e.id = picked.id and not $3::bool
  ), dropped as (
    delete from executions e using picked where e.id = picked.id and $3::bool
  )
  select (select count(*)::int from picked) as executions, (select count(*)::int from runs) as node_runs,
    (select count(*)::int from logs) as logs`;

/** What one retention batch deleted. */
export interface PurgeCounts {
  readonly executions: number;
  readonly nodeRuns: number;
  readonly logs: number;
}

/** Deletes old terminal executions' node runs and logs (see PURGE_SQL). */
export function createRetentionStore(deps: { pool: pg.Pool }) {
  return {
    async purge(request: {
      before: Date;
      limit: number;
      deleteExecutions: boolean;
    }): Promise<PurgeCounts> {
      const res = await deps.pool.query<{ executions: number; node_runs: number; logs: number }>(
        PURGE_SQL,
        [request.before, request.limit, request.deleteExecutions],
      );
      const row = res.rows[0];
      return {
        executions: row?.executions ?? 0,
        nodeRuns: row?.node_runs ?? 0,
        logs: row?.logs ?? 0,
      };
    },
  };
}

export type RetentionStore = ReturnType<typeof createRetentionStore>;
