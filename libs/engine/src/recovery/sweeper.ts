import { settledWithin } from '../run/abortable.ts';
import { AppError, type Clock, type OrphanCursor, type OrphanExecution } from '@linkflow/domain';
import type { EngineLogger, JobQueuePort, LeasePort, SweepLock } from '../ports.ts';
import type { ChildExecutionPort } from '../run/subworkflow-port.ts';
import { cancelAbandonedChildren } from './abandoned-children.ts';
import type { DeadLetterer } from './dead-letter.ts';

/** The ports the sweeper works through. */
export interface SweeperDeps {
  readonly leases: Pick<LeasePort, 'orphans'>;
  readonly queue: JobQueuePort;
  readonly deadLetterer: Pick<DeadLetterer, 'once'>;
  /** Held by one executor of the fleet at a time: only that one sweeps. */
  readonly lock: SweepLock;
  readonly log: EngineLogger;
  /** With it, each pass also cancels active children of ended executions. */
  readonly children?: {
    readonly port: Pick<
      ChildExecutionPort,
      'abandonedParents' | 'cancelDescendants' | 'signalCancel'
    >;
    readonly clock: Clock;
  };
}

/** How often the sweeper passes and what it considers orphaned. */
export interface SweeperOptions {
  readonly intervalMs: number;
  /** A pending execution this old with no live job is enqueued again. */
  readonly pendingGraceMs: number;
  /** Executions looked at per pass (the next pass goes on from there). */
  readonly batchSize?: number;
}

type Action = 'live' | 'requeued' | 'dead';

/**
 * A failed job older than the execution's last change is not this run's: the execution was
 * dead-lettered and then recovered (back to pending) without its new job being enqueued
 * (Redis down, or the recover's enqueue still on its way). It is requeued (which removes the
 * old job), not dead-lettered again. Compares the failing worker's clock with the recovering
 * API's, so a recover within a clock skew of the failure may still be dead-lettered again.
 */
function isStale(job: { failedAt?: Date }, e: OrphanExecution): boolean {
  return job.failedAt !== undefined && job.failedAt.getTime() < e.updatedAt.getTime();
}

/** Decides what one orphan candidate needs, by the state of its BullMQ job. */
async function sweepOne(deps: SweeperDeps, e: OrphanExecution): Promise<Action> {
  const job = await deps.queue.standing(e.id, e.workerTags);
  if (job.kind === 'live') return 'live';
  if (job.kind === 'failed' && !isStale(job, e)) {
    // Failed for good, but the failed handler never dead-lettered it (its process died,
    // or Redis/Postgres were down meanwhile): finish that now.
    await deps.deadLetterer.once(e.id, job.reason ?? 'job failed');
    return 'dead';
  }
  const added = await deps.queue.requeue({
    executionId: e.id,
    tenantId: e.tenantId,
    priority: e.priority,
    workerTags: e.workerTags,
  });
  return added ? 'requeued' : 'live';
}

/**
 * Postgres is the truth when Redis loses jobs. The sweeper hands on every execution that is
 * `pending` past a grace period, or `running` with an expired lease (its worker died or
 * lost it), and has no live job: a failed job is dead-lettered, anything else (no job, a
 * flushed or restarted Redis, a completed job) is enqueued again with job id = execution
 * id, replacing a finished job. One executor sweeps at a time (a Postgres advisory lock),
 * and a live job or lease is never touched, so an execution is never enqueued twice.
 * Candidates are paged through with a cursor that wraps around, `batchSize` per pass.
 */
const STOP_WAIT_MS = 5_000;

export function startSweeper(deps: SweeperDeps, options: SweeperOptions): () => Promise<void> {
  const limit = options.batchSize ?? 200;
  let cursor: OrphanCursor | undefined;
  let running: Promise<void> | undefined;
  const pass = async () => {
    if (!(await deps.lock.hold())) return;
    const page = await deps.leases.orphans({
      pendingGraceMs: options.pendingGraceMs,
      limit,
      after: cursor,
    });
    const counts: Record<Action, number> = { live: 0, requeued: 0, dead: 0 };
    for (const e of page) {
      try {
        counts[await sweepOne(deps, e)]++;
      } catch (err) {
        if (err instanceof AppError && err.code === 'QUEUE_UNAVAILABLE') throw err;
        deps.log.warn({ err, executionId: e.id }, 'sweeper skipped an execution');
      }
    }
    cursor = page.length < limit ? undefined : page.at(-1);
    if (deps.children) {
      const { port, clock } = deps.children;
      await cancelAbandonedChildren({ children: port, clock, log: deps.log });
    }
    if (counts.requeued + counts.dead > 0)
      deps.log.info({ ...counts }, 'sweeper handed on executions without a live job');
  };
  const tick = () => {
    if (running) return;
    running = pass()
      .catch((err: unknown) => deps.log.warn({ err }, 'sweeper pass failed'))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    // A pass stuck on a dead Redis or Postgres must not hold up shutdown; its lock goes
    // with the connection.
    if (running) await settledWithin(running, STOP_WAIT_MS);
    await deps.lock.release();
  };
}
