import { Gauge, type Registry } from 'prom-client';
import { telemetryErrors } from './telemetry-errors.ts';

/** Jobs of one queue in one state (and, for waiting jobs, one priority). */
export interface QueueJobCount {
  readonly queue: string;
  readonly state: string;
  /** `high`, `normal` or `low` for waiting jobs; `all` where the queue counts per state only. */
  readonly priority: string;
  readonly count: number;
}

/** What the queues hold at one moment (libs/queue's `readQueueSnapshot` answers this). */
export interface QueueSnapshot {
  readonly jobs: readonly QueueJobCount[];
  readonly dlqSize: number;
}

/** Where the queue gauges read their values, once per scrape. */
export interface QueueMetricsSource {
  read(): Promise<QueueSnapshot>;
  /** Longest a scrape waits for `read` (default {@link DEFAULT_QUEUE_SCRAPE_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  /** Receives a failed or late read (the scrape then answers without queue samples). */
  readonly onError?: (err: unknown) => void;
}

/** A scrape waits this long for Redis before answering without queue samples. */
export const DEFAULT_QUEUE_SCRAPE_TIMEOUT_MS = 1_000;

function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(telemetryErrors.metricsSourceTimeout('queue snapshot', timeoutMs)),
      timeoutMs,
    );
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * One read per scrape, shared by both gauges: prom-client calls every metric's `collect`
 * in the same tick, so a read already in flight is reused rather than repeated.
 */
function singleFlight(source: QueueMetricsSource): () => Promise<QueueSnapshot | undefined> {
  const timeoutMs = source.timeoutMs ?? DEFAULT_QUEUE_SCRAPE_TIMEOUT_MS;
  let inflight: Promise<QueueSnapshot | undefined> | undefined;
  return () => {
    inflight ??= withTimeout(source.read(), timeoutMs)
      .catch((err: unknown) => {
        source.onError?.(err);
        return undefined;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

/**
 * `linkflow_queue_jobs{queue,state,priority}` and `linkflow_dlq_size`, read from Redis when
 * Prometheus scrapes (no timer, no stale sample). When the read fails or passes its
 * timeout, the scrape still answers at once and both metrics have no sample at all (HELP
 * and TYPE only), so a dashboard shows a gap rather than a misleading 0 or old value.
 */
export function registerQueueMetrics(registers: Registry[], source: QueueMetricsSource) {
  const read = singleFlight(source);
  const queueJobs = new Gauge({
    name: 'linkflow_queue_jobs',
    help: 'Jobs in a queue by state; waiting jobs by priority, other states priority="all". Read at scrape.',
    labelNames: ['queue', 'state', 'priority'] as const,
    registers,
    // Every cluster worker reads the same queues: merged, one reading stands (not the sum).
    aggregator: 'first',
    async collect() {
      const snapshot = await read();
      this.reset();
      for (const { count, ...labels } of snapshot?.jobs ?? []) this.set(labels, count);
    },
  });
  const dlqSize = new Gauge({
    name: 'linkflow_dlq_size',
    help: 'Entries in the dead-letter queue. Read at scrape.',
    registers,
    aggregator: 'first',
    async collect() {
      const snapshot = await read();
      if (snapshot) this.set(snapshot.dlqSize);
      // No sample rather than 0 when Redis did not answer.
      else this.remove();
    },
  });
  return { queueJobs, dlqSize };
}
