import type { ChildExecutionPort } from '@linkflow/engine';
import { publishCancel, type Redis } from '@linkflow/queue';
import type { ChildExecutionStore } from '@linkflow/store';
import type { Logger } from '@linkflow/telemetry';

/**
 * The engine's child-execution port: the Postgres store, plus cancel signals on the control
 * channel for running children (best effort: a cancelled child's lease renewal stops it too).
 */
export function childExecutionPort(
  store: ChildExecutionStore,
  redis: Redis,
  log: Logger,
): ChildExecutionPort {
  return {
    ...store,
    async signalCancel(executionIds) {
      await Promise.all(executionIds.map((id) => publishCancel(redis, id))).catch((err: unknown) =>
        log.warn({ err }, 'child cancel signal failed; its lease renewal stops it'),
      );
    },
  };
}
