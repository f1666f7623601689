import type { Redis } from '@linkflow/queue';
import { publishControl, publishEvent, type ExecutionQueues } from '@linkflow/queue';
import { injectTraceContext } from '@linkflow/telemetry';
import type { ExecutionSignals } from '../executions/execution-routes.ts';

/** ExecutionSignals over Redis pub/sub and the BullMQ queue. */
export function createQueueSignals(deps: {
  redis: Redis;
  queue: Pick<ExecutionQueues, 'remove'>;
}): ExecutionSignals {
  return {
    async cancel(executionId) {
      await publishControl(deps.redis, { execution_id: executionId, action: 'cancel' });
    },
    async timeoutChanged(executionId) {
      await publishControl(deps.redis, { execution_id: executionId, action: 'timeout' });
    },
    async dequeue(executionId) {
      await deps.queue.remove(executionId);
    },
    async cancelledPending(executionId) {
      const at = new Date().toISOString();
      await publishEvent(deps.redis, executionId, { kind: 'status', status: 'cancelled', at });
    },
    traceContext() {
      const carrier = injectTraceContext();
      return Object.keys(carrier).length > 0 ? carrier : undefined;
    },
  };
}
