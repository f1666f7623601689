import type { BreakerBoard, BreakerEntry } from './breaker-board.ts';
import type { QueueLogger } from './queue-log.ts';
import { HEARTBEATS_PER_TTL } from './worker-heartbeat.ts';

/** One breaker as its registry reports it (the engine's `BreakerSnapshot`). */
export interface BreakerSnapshot {
  readonly target: string;
  /** The tenant whose calls this breaker guards (breakers are per tenant and target). */
  readonly tenantId: string;
  readonly state: BreakerEntry['state'];
  readonly failures: number;
  /** When it was made or last changed state (ms since the epoch). */
  readonly lastChangeAt: number;
}

/** What {@link startBreakerPublisher} publishes, where and how often. */
export interface BreakerPublisherDeps {
  readonly board: Pick<BreakerBoard, 'publish' | 'remove'>;
  /** This executor's worker id. */
  readonly id: string;
  /** This executor's breakers now. */
  readonly snapshot: () => readonly BreakerSnapshot[];
  /** The heartbeat interval: it publishes at each, with a TTL of a few of them. */
  readonly intervalMs: number;
  readonly log: QueueLogger;
}

/** A running publisher: `changed()` after any breaker change, `stop()` at shutdown. */
export interface BreakerPublisher {
  readonly changed: () => void;
  stop(): Promise<void>;
}

/** The board's entries for this executor's breakers. */
export function toEntries(id: string, snapshot: readonly BreakerSnapshot[]): BreakerEntry[] {
  return snapshot.map((b) => ({
    target: b.target,
    tenant_id: b.tenantId,
    state: b.state,
    failures: b.failures,
    last_change_at: new Date(b.lastChangeAt).toISOString(),
    executor: id,
  }));
}

/**
 * Publishes this executor's breakers in Redis at start, after every change and at every
 * heartbeat (TTL: {@link HEARTBEATS_PER_TTL} intervals, so a killed executor's entries
 * vanish with its registration). Changes during a write coalesce into one more write of the
 * latest states. A failed write (Redis down) is logged; the next change or heartbeat
 * writes the whole state again, so the board catches up once Redis is back.
 */
export function startBreakerPublisher(deps: BreakerPublisherDeps): BreakerPublisher {
  let writing: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const write = async () => {
    do {
      again = false;
      // Read the states after a tick: a change reported while a breaker is being made
      // (before the registry holds it) shows in this write.
      await Promise.resolve();
      const entries = toEntries(deps.id, deps.snapshot());
      try {
        await deps.board.publish(deps.id, entries, deps.intervalMs * HEARTBEATS_PER_TTL);
      } catch (err) {
        deps.log.warn({ err }, 'breaker states not published; retrying at the next change');
      }
    } while (again && !stopped);
  };
  const changed = () => {
    if (stopped) return;
    if (writing) {
      again = true;
      return;
    }
    writing = write().finally(() => (writing = undefined));
  };
  changed();
  const timer = setInterval(changed, deps.intervalMs);
  timer.unref();
  return {
    changed,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await writing;
      await deps.board.remove(deps.id).catch((err: unknown) => {
        deps.log.debug({ err }, 'could not remove the published breaker states');
      });
    },
  };
}
