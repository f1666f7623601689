import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '@linkflow/domain';
import type { ChildExecutionStore } from '@linkflow/store';
import type { ExecutionSignals } from './execution-routes.ts';

/**
 * After a cancel committed: cancels the execution's active children, recursively (one
 * statement), then signals them like the cancelled execution itself (running ones abort,
 * pending ones leave the queue). Best effort: when this fails, the executors' sweeper
 * cancels children of ended executions on its next pass.
 */
export async function cancelChildren(
  deps: {
    readonly children: Pick<ChildExecutionStore, 'cancelDescendants'>;
    readonly signals: ExecutionSignals;
    readonly clock: Clock;
  },
  executionId: string,
  log: FastifyBaseLogger,
): Promise<void> {
  try {
    const reason = `parent execution ${executionId} cancelled`;
    const cancelled = await deps.children.cancelDescendants(executionId, deps.clock.now(), reason);
    await Promise.all(
      cancelled.map((c) =>
        c.from === 'pending'
          ? Promise.all([deps.signals.dequeue(c.id), deps.signals.cancelledPending(c.id)])
          : deps.signals.cancel(c.id),
      ),
    );
  } catch (err) {
    log.warn({ err, executionId }, 'cancelling child executions failed; the sweeper does');
  }
}
