import type { Redis } from 'ioredis';
import { subscribeRequests, type Subscription } from './channels.ts';
import type { MetricsBoard } from './metrics-board.ts';
import type { QueueLogger } from './queue-log.ts';
import { HEARTBEATS_PER_TTL } from './worker-heartbeat.ts';

/** What {@link startMetricsReporter} reports, where and how often. */
export interface MetricsReporterDeps {
  readonly board: Pick<MetricsBoard, 'publish' | 'remove' | 'requests'>;
  /** A connection dedicated to pub/sub (see `subscribeCancel`). */
  readonly subscriber: Redis;
  /** This executor's worker id. */
  readonly id: string;
  /** This executor's metrics now, as prom-client JSON text. */
  readonly snapshot: () => Promise<string>;
  /** The heartbeat interval: it reports at each, with a TTL of a few of them. */
  readonly intervalMs: number;
  readonly log: QueueLogger;
}

/** A running reporter: `stop()` at shutdown removes this executor's snapshot. */
export interface MetricsReporter {
  stop(): Promise<void>;
}

/**
 * Reports this executor's metrics to the board: at start, at every heartbeat (TTL:
 * {@link HEARTBEATS_PER_TTL} intervals, so a killed executor's numbers vanish with its
 * registration) and at once when a scrape of the API asks (so the API's `/metrics` is as
 * fresh as this process's own). Requests heard while a report is being written make one more
 * report after it, which answers them all: a burst of scrapes costs two reports, not one
 * each. A failed write (Redis down) is logged; the next heartbeat or request writes again.
 * `stop()` waits for a report in flight before removing this executor's, so none outlives it.
 * @throws AppError `QUEUE_UNAVAILABLE` when the request channel cannot be subscribed.
 */
export async function startMetricsReporter(deps: MetricsReporterDeps): Promise<MetricsReporter> {
  const ttlMs = deps.intervalMs * HEARTBEATS_PER_TTL;
  let stopped = false;
  let heard = 0;
  let writing: Promise<void> | undefined;
  let again = false;
  const writeOnce = async () => {
    const answered = heard;
    await deps.board.publish(deps.id, { answered, metrics: await deps.snapshot() }, ttlMs);
  };
  const write = (): void => {
    if (stopped) return;
    if (writing !== undefined) {
      again = true;
      return;
    }
    writing = (async () => {
      do {
        again = false;
        await writeOnce().catch((err: unknown) => {
          deps.log.warn({ err }, 'metrics report failed; the next heartbeat or request retries');
        });
      } while (again && !stopped);
    })().finally(() => (writing = undefined));
  };
  const subscription: Subscription = await subscribeRequests(
    deps.subscriber,
    deps.board.requests,
    (request) => {
      heard = Math.max(heard, request);
      write();
    },
  );
  write();
  const timer = setInterval(write, deps.intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await subscription.unsubscribe();
      await writing;
      await deps.board.remove(deps.id).catch((err: unknown) => {
        deps.log.warn({ err }, 'metrics report could not be removed; it expires with its TTL');
      });
    },
  };
}
