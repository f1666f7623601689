import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '@linkflow/domain';
import type { ChildExecutionStore } from '@linkflow/store';
import type { ExecutionSignals } from './execution-routes.ts';
import type { Enqueuer } from './start-execution.ts';

/**
 * After a cancel committed: cancels the execution's active children, recursively (one
 * statement), then signals them like the cancelled execution itself (running ones abort,
 * pending ones leave the queue), and wakes its parent when it was a child its parent is
 * parked on (a pending child has no executor whose final write would). Best effort: when
 * this fails, the executors' sweeper cancels children of ended executions and enqueues
 * parked parents whose child ended, on its next pass.
 */
export async function cancelChildren(
  deps: {
    readonly children: Pick<ChildExecutionStore, 'cancelDescendants' | 'wakeParent'>;
    readonly signals: ExecutionSignals;
    readonly clock: Clock;
    readonly queue: Pick<Enqueuer, 'requeue'>;
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
    const parent = await deps.children.wakeParent(executionId);
    if (parent) await deps.queue.requeue(parent);
  } catch (err) {
    log.warn({ err, executionId }, 'cancelling child executions failed; the sweeper does');
  }
}
