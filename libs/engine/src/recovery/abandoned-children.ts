import type { Clock } from '@linkflow/domain';
import type { EngineLogger } from '../ports.ts';
import type { ChildExecutionPort } from '../run/subworkflow-port.ts';

/** Ended parents looked at per sweeper pass. */
const PARENTS_PER_PASS = 100;

/**
 * Cancels the active children of executions that ended without their children being
 * cancelled (the process died between the final write and the cascade, or the API's cascade
 * after a cancel did not run). Returns how many children it cancelled.
 */
export async function cancelAbandonedChildren(deps: {
  readonly children: Pick<
    ChildExecutionPort,
    'abandonedParents' | 'cancelDescendants' | 'signalCancel'
  >;
  readonly clock: Clock;
  readonly log: EngineLogger;
}): Promise<number> {
  const parents = await deps.children.abandonedParents(PARENTS_PER_PASS);
  let count = 0;
  for (const parent of parents) {
    const reason = `parent execution ${parent} ended`;
    const cancelled = await deps.children.cancelDescendants(parent, deps.clock.now(), reason);
    const running = cancelled.filter((c) => c.from === 'running').map((c) => c.id);
    if (running.length > 0) await deps.children.signalCancel?.(running);
    count += cancelled.length;
  }
  if (count > 0)
    deps.log.info({ cancelled: count }, 'sweeper cancelled children of ended executions');
  return count;
}
