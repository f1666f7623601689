import type { RunTable } from '@linkflow/engine';
import { subscribeCancel, type Redis, type Subscription } from '@linkflow/queue';
import type { Logger } from '@linkflow/telemetry';

/**
 * Listens for control signals from the API on a dedicated subscriber connection:
 * `cancel` aborts the run's in-flight nodes now; `timeout` re-reads its deadline.
 * Signals for runs this process does not hold are ignored (another executor has them).
 */
export function listenForControl(redis: Redis, runs: RunTable, log: Logger): Promise<Subscription> {
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
