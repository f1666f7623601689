import { subscribeCancel, type Subscription } from './channels.ts';
import type { QueueLogger } from './queue-log.ts';
import type { Redis } from './redis-connection.ts';

/** The runs a control signal acts on (the engine's `RunTable` fits). */
export interface ControlledRuns {
  /** Aborts the run's in-flight nodes; false when this process does not hold it. */
  cancel(executionId: string): boolean;
  /** Re-reads the run's deadline. */
  reloadTimeout(executionId: string): Promise<unknown>;
}

/**
 * Listens for control signals from the API on a dedicated subscriber connection:
 * `cancel` aborts the run's in-flight nodes now; `timeout` re-reads its deadline.
 * Signals for runs this process does not hold are ignored (another executor has them).
 */
export function listenForControl(
  redis: Redis,
  runs: ControlledRuns,
  log: QueueLogger,
): Promise<Subscription> {
  return subscribeCancel(
    redis,
    async (signal) => {
      if (signal.action === 'timeout') await runs.reloadTimeout(signal.execution_id);
      else if (runs.cancel(signal.execution_id))
        log.info({ executionId: signal.execution_id }, 'cancel signal received; aborting');
    },
    {
      onInvalid: (err) => log.warn({ err }, 'ignored a malformed control signal'),
      onHandlerError: (err) => log.error({ err }, 'control signal handler failed'),
    },
  );
}
