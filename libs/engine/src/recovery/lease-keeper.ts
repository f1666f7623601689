import type { EngineLogger, LeasePort } from '../ports.ts';
import type { RunTable } from '../run/run-handle.ts';

/**
 * Renews the Postgres leases of every run this executor holds, in one statement every
 * `leaseMs / 3` (two renewals may fail before a lease runs out). A run whose lease cannot
 * be renewed is no longer ours: cancelled by the API (stopped as a cancel) or taken over
 * (stopped as `lease_lost`, writing nothing more). A failed renewal (Postgres
 * unreachable) is only logged: the next one may succeed, and the run's BullMQ job lock
 * still keeps it from being handed out twice. The renewal also reads each held run's
 * `timeout_seconds`: a timeout change whose control signal was lost re-arms the run's
 * deadline within a third of a lease.
 */
export function startLeaseKeeper(
  deps: { leases: Pick<LeasePort, 'renew'>; runs: RunTable; log: EngineLogger },
  leaseMs: number,
): () => void {
  let busy = false;
  const tick = async () => {
    const fences = deps.runs.fences();
    if (busy || fences.length === 0) return;
    busy = true;
    try {
      const renewal = await deps.leases.renew(fences);
      for (const held of renewal.held) deps.runs.applyTimeout(held.fence, held.timeoutSeconds);
      for (const lost of renewal.lost) {
        const { executionId, attempt } = lost.fence;
        // Finished by this very run a moment ago (its final write beat the renewal).
        if (lost.attempt === attempt && (lost.status === 'success' || lost.status === 'failed'))
          continue;
        const cancelled = lost.status === 'cancelled' && lost.attempt === attempt;
        if (deps.runs.stop(executionId, cancelled ? 'cancel' : 'lease_lost', attempt))
          deps.log.warn(
            { executionId, status: lost.status, attempt: lost.attempt, heldAttempt: attempt },
            'lease not renewed; stopping the run',
          );
      }
    } catch (err) {
      deps.log.warn({ err, runs: fences.length }, 'lease renewal failed');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), Math.max(Math.floor(leaseMs / 3), 50));
  timer.unref();
  return () => clearInterval(timer);
}
