import {
  SUBWORKFLOW_NODE_TYPE,
  type ClaimedExecution,
  type Clock,
  type Fence,
  type NodeState,
  type SpawnedExecution,
} from '@linkflow/domain';
import type { EngineLogger, JobQueuePort } from '../ports.ts';
import { sleep } from './abortable.ts';
import type { DagRunOutcome } from './dag-runner.ts';
import type { ChildExecutionPort } from './subworkflow-port.ts';

/** A DAG run's end once waiting is resolved: an outcome, or parked (no final status). */
export type RunEnd = Exclude<DagRunOutcome, { status: 'waiting' }> | { readonly status: 'parked' };

/** What {@link runUntilParked} needs from the run around it. */
export interface ParkContext {
  readonly children: ChildExecutionPort | undefined;
  readonly fence: Fence;
  readonly clock: Clock;
  /** The DAG's node states: waiting nodes go back to pending when the run continues. */
  readonly states: Map<string, NodeState>;
  /** Writes every checkpoint and log line held back (before the run lets go). */
  flush(): Promise<void>;
  readonly log: EngineLogger;
}

/**
 * Runs the DAG until it ends or parks. When only subworkflow nodes are left waiting on their
 * children, the run is parked: its checkpoints are written, it gets no final status, its lease
 * is released and its job ends, so the worker slot is free; the child's final write wakes it
 * (see {@link settleFamily}). A child that ended meanwhile makes the run continue at once
 * (the waiting nodes start again, find their ended children and settle).
 */
export async function runUntilParked(
  run: () => Promise<DagRunOutcome>,
  c: ParkContext,
): Promise<RunEnd> {
  for (;;) {
    const outcome = await run();
    if (outcome.status !== 'waiting') return outcome;
    await c.flush();
    const parked = c.children ? await c.children.park(c.fence, c.clock.now()) : 'fenced';
    if (parked !== 'child_ended') {
      c.log.info({ waiting: outcome.nodeIds, parked }, 'execution waits on child executions');
      return { status: 'parked' };
    }
    for (const id of outcome.nodeIds) c.states.delete(id);
  }
}

/** Tries to enqueue a woken parent for this long while its parking job is still finishing. */
const WAKE_TRIES = 10;
const WAKE_RETRY_MS = 200;

async function requeueParent(
  queue: Pick<JobQueuePort, 'requeue'>,
  parent: SpawnedExecution,
  log: EngineLogger,
): Promise<void> {
  const parentExecutionId = parent.executionId;
  for (let attempt = 1; attempt <= WAKE_TRIES; attempt++) {
    // false: the parent still has a live job, normally the one that parked it and is
    // completing right now (a job id is the execution id, so a new one cannot be added yet).
    if (await queue.requeue(parent))
      return log.info({ parentExecutionId }, 'parent execution woken');
    await sleep(WAKE_RETRY_MS, new AbortController().signal);
  }
  // Unparked with an expired lease and no job: the sweeper's next pass enqueues it.
  log.warn({ parentExecutionId }, 'parent execution still has a job; the sweeper enqueues it');
}

/** Which relatives an ended execution can have (see {@link familyLinks}). */
export interface FamilyLinks {
  readonly executionId: string;
  /** Its workflow has a subworkflow node: it may have started children. */
  readonly mayHaveChildren: boolean;
  /** A subworkflow node of another execution started it. */
  readonly hasParent: boolean;
}

/** The relatives a claimed execution can have, from its definition and its parent link. */
export function familyLinks(exec: ClaimedExecution): FamilyLinks {
  return {
    executionId: exec.fence.executionId,
    mayHaveChildren: exec.definition.nodes.some((n) => n.type === SUBWORKFLOW_NODE_TYPE),
    hasParent: exec.parentExecutionId !== null,
  };
}

/** What {@link settleFamily} works through. */
export interface FamilyDeps {
  readonly children: ChildExecutionPort | undefined;
  readonly queue: Pick<JobQueuePort, 'requeue'> | undefined;
  readonly clock: Clock;
  readonly log: EngineLogger;
}

/**
 * After an execution's final status (any: success, failed, cancelled): its active children
 * are cancelled, recursively (a timeout or a `fail_fast` failure while a subworkflow node
 * waited), running ones are signalled, and its parent, when parked waiting on it, is woken
 * and enqueued. Only what can exist is asked for: an execution whose workflow has no
 * subworkflow node has no children, a top-level one no parent (most executions: no query at
 * all). Never throws: what fails here the sweeper finishes (it cancels children of ended
 * executions and enqueues a parked parent whose child ended).
 */
export async function settleFamily(deps: FamilyDeps, execution: FamilyLinks): Promise<void> {
  const { children, log } = deps;
  const { executionId } = execution;
  if (!children) return;
  try {
    if (execution.mayHaveChildren) {
      const reason = `parent execution ${executionId} ended`;
      const cancelled = await children.cancelDescendants(executionId, deps.clock.now(), reason);
      const running = cancelled.filter((c) => c.from === 'running').map((c) => c.id);
      if (cancelled.length > 0)
        log.info({ cancelled: cancelled.length }, 'child executions cancelled');
      if (running.length > 0) await children.signalCancel?.(running);
    }
    if (!execution.hasParent) return;
    const parent = await children.wakeParent(executionId);
    if (parent && deps.queue) await requeueParent(deps.queue, parent, log);
  } catch (err) {
    log.warn({ err }, 'could not settle the child or parent executions; the sweeper will');
  }
}
