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
 * fresh as this process's own). A failed write (Redis down) is logged; the next heartbeat or
 * request writes again.
 * @throws AppError `QUEUE_UNAVAILABLE` when the request channel cannot be subscribed.
 */
export async function startMetricsReporter(deps: MetricsReporterDeps): Promise<MetricsReporter> {
  const ttlMs = deps.intervalMs * HEARTBEATS_PER_TTL;
  let stopped = false;
  const write = async (request: string) => {
    if (stopped) return;
    try {
      await deps.board.publish(deps.id, { request, metrics: await deps.snapshot() }, ttlMs);
    } catch (err) {
      deps.log.warn({ err }, 'metrics report failed; the next heartbeat or request retries');
    }
  };
  const subscription: Subscription = await subscribeRequests(
    deps.subscriber,
    deps.board.requests,
    (request) => write(request),
  );
  void write('');
  const timer = setInterval(() => void write(''), deps.intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await subscription.unsubscribe();
      await deps.board.remove(deps.id).catch((err: unknown) => {
        deps.log.warn({ err }, 'metrics report could not be removed; it expires with its TTL');
      });
    },
  };
}
