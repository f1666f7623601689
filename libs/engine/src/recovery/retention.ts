import type { Clock } from '@linkflow/domain';
import { settledWithin } from '../run/abortable.ts';
import type { EngineLogger, RetentionPort, SweepLock } from '../ports.ts';

/** The ports retention works through. */
export interface RetentionDeps {
  readonly store: RetentionPort;
  /** Held by one executor of the fleet at a time: only that one purges. */
  readonly lock: SweepLock;
  readonly clock: Clock;
  readonly log: EngineLogger;
}

/** What retention keeps and how it paces itself. */
export interface RetentionOptions {
  /** Node runs and logs of terminal executions that finished longer ago are deleted. */
  readonly days: number;
  readonly intervalMs: number;
  /** Executions per batch (one short transaction each). */
  readonly batchSize: number;
  /** Batches per pass at most; the next pass goes on. */
  readonly maxBatches: number;
  /** Delete the executions themselves too (default: keep their summary). */
  readonly deleteExecutions: boolean;
}

const DAY_MS = 86_400_000;
const STOP_WAIT_MS = 5_000;

/** One pass: batches until one comes back short, the pass's cap, or `stopped()`. */
async function purgePass(
  deps: RetentionDeps,
  options: RetentionOptions,
  stopped: () => boolean,
): Promise<void> {
  if (!(await deps.lock.hold())) return;
  const before = new Date(deps.clock.now().getTime() - options.days * DAY_MS);
  const total = { executions: 0, nodeRuns: 0, logs: 0 };
  for (let batch = 0; batch < options.maxBatches && !stopped(); batch++) {
    const counts = await deps.store.purge({
      before,
      limit: options.batchSize,
      deleteExecutions: options.deleteExecutions,
    });
    total.executions += counts.executions;
    total.nodeRuns += counts.nodeRuns;
    total.logs += counts.logs;
    // Each batch commits on its own, so other transactions on these tables get in between.
    if (counts.executions < options.batchSize) break;
  }
  if (total.executions > 0)
    deps.log.info({ ...total, before: before.toISOString() }, 'retention purged old executions');
}

/**
 * Deletes node runs and logs of terminal executions older than `days`, in small batches,
 * on one executor of the fleet at a time. A pass that fails (Postgres gone) is logged and
 * the next one starts over: each batch is its own transaction, so nothing is half-deleted.
 */
export function startRetention(
  deps: RetentionDeps,
  options: RetentionOptions,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopping = false;
  const tick = () => {
    if (running) return;
    running = purgePass(deps, options, () => stopping)
      .catch((err: unknown) => deps.log.warn({ err }, 'retention pass failed'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return async () => {
    stopping = true;
    clearInterval(timer);
    if (running) await settledWithin(running, STOP_WAIT_MS);
    await deps.lock.release();
  };
}
