import type { Clock } from '@linkflow/domain';
import type { ExecutionQueue } from '@linkflow/queue';
import type { RunStore } from '@linkflow/store';
import type { Logger } from '@linkflow/telemetry';

/**
 * Enqueues executions that are still `pending` some time after creation: the API commits
 * the row before adding the job, so a Redis failure between the two leaves a pending
 * execution without a job. Enqueueing is idempotent (job id = execution id), so running
 * this on every executor is safe.
 */
export function startReconciler(
  deps: {
    runStore: Pick<RunStore, 'stalePending'>;
    queue: Pick<ExecutionQueue, 'enqueue'>;
    clock: Clock;
    log: Logger;
  },
  intervalMs: number,
  graceMs = 5000,
): () => void {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const stale = await deps.runStore.stalePending(
        new Date(deps.clock.now().getTime() - graceMs),
        200,
      );
      for (const e of stale)
        await deps.queue.enqueue({ executionId: e.id, tenantId: e.tenantId, priority: e.priority });
      if (stale.length > 0)
        deps.log.info({ count: stale.length }, 'reconciler enqueued pending executions');
    } catch (err) {
      deps.log.warn({ err }, 'reconciler pass failed');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
