import type { Clock } from '@linkflow/domain';
import type { DeadLetterSink, EngineLogger, RunStorePort } from '../ports.ts';
import { sleep } from '../run/abortable.ts';
import type { RunEvents } from '../run/run-events.ts';

/** Records that an execution could not be processed: a DLQ entry and `failed` in Postgres. */
export interface DeadLetterer {
  /** One try of both steps; throws when either fails (the caller retries). */
  once(executionId: string, reason: string): Promise<void>;
  /**
   * Tries until both steps succeed, backing off up to `maxDelayMs`, or until the executor
   * stops (then the sweeper finishes the job). Never throws.
   */
  reliably(executionId: string, reason: string): Promise<void>;
}

/** The ports a {@link DeadLetterer} writes through. */
export interface DeadLettererDeps {
  readonly dlq: DeadLetterSink;
  readonly runStore: Pick<RunStorePort, 'markDead'>;
  /** Live streams learn the execution ended: `failed` once `markDead` committed the move. */
  readonly events: Pick<RunEvents, 'status'>;
  readonly clock: Clock;
  readonly log: EngineLogger;
  /** Aborts pending retries on shutdown. */
  readonly signal: AbortSignal;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Moving a job to the DLQ happens in BullMQ's `failed` handler, after the job already
 * failed: not atomic with it. A one-shot attempt that meets Redis or Postgres down would
 * leave the execution non-terminal, so both steps are retried (each is idempotent: the DLQ
 * keeps the first entry per execution, `markDead` only moves a non-terminal execution).
 */
export function createDeadLetterer(deps: DeadLettererDeps): DeadLetterer {
  // Both steps every time, so Postgres records the failure even while Redis is down.
  const once = async (executionId: string, reason: string) => {
    const results = await Promise.allSettled([
      deps.runStore.markDead(executionId, reason, deps.clock.now()),
      deps.dlq.add(executionId, reason),
    ]);
    // Published after the commit, and only by the call that moved it (never twice).
    if (results[0].status === 'fulfilled' && results[0].value)
      deps.events.status(executionId, 'failed');
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  };
  return {
    once,
    async reliably(executionId, reason) {
      let delay = deps.initialDelayMs ?? 200;
      for (let attempt = 1; !deps.signal.aborted; attempt++) {
        try {
          await once(executionId, reason);
          return;
        } catch (err) {
          deps.log.error(
            { err, executionId, attempt, retryInMs: delay },
            'dead-lettering failed; retrying',
          );
        }
        try {
          await sleep(delay, deps.signal);
        } catch {
          break;
        }
        delay = Math.min(delay * 2, deps.maxDelayMs ?? 30_000);
      }
      deps.log.warn({ executionId }, 'dead-lettering left to the sweeper (executor stopping)');
    },
  };
}
