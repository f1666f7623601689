import type pg from 'pg';
import type {
  ExecutionStatus,
  Fence,
  LeaseRenewal,
  OrphanCursor,
  OrphanExecution,
  Priority,
} from '@linkflow/domain';
import { DEFAULT_LEASE_MS } from './run-store.ts';
import { ORPHANS_SQL, RELEASE_LEASE_SQL, RENEW_LEASES_SQL } from './run-store-sql.ts';

/**
 * Execution leases in Postgres: the claim writes `lease_expires_at`, the holder renews it
 * while the run lasts, and the sweeper hands expired ones to another worker. Lease times
 * come from the database clock, so executors with skewed clocks agree.
 */
export function createLeaseStore(deps: { pool: pg.Pool; leaseMs?: number }) {
  const { pool } = deps;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  return {
    /**
     * Renews the leases of every run in `fences` in one statement; returns those renewed,
     * with their current timeout, and those that could not be (the run is no longer this
     * holder's to continue).
     */
    async renew(fences: readonly Fence[]): Promise<LeaseRenewal> {
      if (fences.length === 0) return { held: [], lost: [] };
      const res = await pool.query<{
        id: string;
        held_attempt: number;
        status: ExecutionStatus | null;
        attempt: number | null;
        renewed: boolean;
        timeout_seconds: number | null;
      }>({
        name: 'lf_renew_leases',
        text: RENEW_LEASES_SQL,
        values: [fences.map((f) => f.executionId), fences.map((f) => f.attempt), leaseMs],
      });
      const fenceOf = (r: { id: string; held_attempt: number }) => ({
        executionId: r.id,
        attempt: r.held_attempt,
      });
      return {
        held: res.rows
          .filter((r) => r.renewed)
          .map((r) => ({ fence: fenceOf(r), timeoutSeconds: r.timeout_seconds })),
        lost: res.rows
          .filter((r) => !r.renewed)
          .map((r) => ({ fence: fenceOf(r), status: r.status, attempt: r.attempt })),
      };
    },

    /** Ends a held lease now (fenced): the run stopped here and may continue elsewhere. */
    async release(fence: Fence): Promise<void> {
      await pool.query(RELEASE_LEASE_SQL, [fence.executionId, fence.attempt]);
    },

    /**
     * Pending executions older than `pendingGraceMs` and running ones whose lease expired,
     * oldest first, `limit` after `after`. Candidates only: whether they still have a live
     * job is for the caller to check in the queue.
     */
    async orphans(options: {
      pendingGraceMs: number;
      limit: number;
      after?: OrphanCursor | undefined;
    }): Promise<OrphanExecution[]> {
      const res = await pool.query<{
        id: string;
        tenant_id: string;
        priority: Priority;
        status: 'pending' | 'running';
        created_at: Date;
        worker_tags: unknown;
        updated_at: Date;
      }>(ORPHANS_SQL, [
        options.pendingGraceMs,
        options.after?.createdAt ?? null,
        options.after?.id ?? '',
        options.limit,
      ]);
      return res.rows.map((r) => ({
        id: r.id,
        tenantId: r.tenant_id,
        priority: r.priority,
        status: r.status,
        createdAt: r.created_at,
        workerTags: Array.isArray(r.worker_tags)
          ? r.worker_tags.filter((t): t is string => typeof t === 'string')
          : [],
        updatedAt: r.updated_at,
      }));
    },
  };
}

/** See {@link createLeaseStore}. */
export type LeaseStore = ReturnType<typeof createLeaseStore>;
