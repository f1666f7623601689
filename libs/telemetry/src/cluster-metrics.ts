import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { telemetryErrors } from './telemetry-errors.ts';

/**
 * Metrics of a process that runs as several `node:cluster` workers behind one port. A scrape
 * reaches whichever worker holds the connection, so each worker answers `/metrics` for all of
 * them: it asks the primary, which collects every worker's registry over IPC (prom-client's
 * AggregatorRegistry) and merges them by each metric's `aggregator` (counters and histograms
 * add up; gauges read from a shared source say `first`).
 */

const REQUEST = 'linkflow:cluster-metrics-request';
const RESPONSE = 'linkflow:cluster-metrics-response';

interface MetricsRequest {
  readonly type: typeof REQUEST;
  readonly id: number;
}

interface MetricsResponse {
  readonly type: typeof RESPONSE;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

const isRequest = (m: unknown): m is MetricsRequest =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === REQUEST;
const isResponse = (m: unknown): m is MetricsResponse =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === RESPONSE;

/**
 * In the primary: answers the workers' requests with the merged metrics of every live worker.
 * Returns a function that stops answering.
 */
export function serveClusterMetrics(): () => void {
  const aggregator = new AggregatorRegistry();
  const reply = (worker: Worker, response: MetricsResponse) => {
    if (worker.isConnected()) worker.send(response);
  };
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isRequest(message)) return;
    aggregator.clusterMetrics().then(
      (text) => reply(worker, { type: RESPONSE, id: message.id, text }),
      (err: unknown) => reply(worker, { type: RESPONSE, id: message.id, error: String(err) }),
    );
  };
  cluster.on('message', onMessage);
  return () => {
    cluster.off('message', onMessage);
  };
}

/** A worker's view of the cluster's metrics (see {@link joinClusterMetrics}). */
export interface ClusterMetrics {
  /** Prometheus text of every worker's registry, merged by the primary. */
  metrics(): Promise<string>;
}

/**
 * In a worker: offers `registry` to the primary's collection and reads the merged metrics
 * through it. A request the primary does not answer within `timeoutMs` fails.
 * @throws AppError METRICS_SOURCE_TIMEOUT (from `metrics()`) when the primary is silent
 */
export function joinClusterMetrics(registry: Registry, timeoutMs = 5_000): ClusterMetrics {
  AggregatorRegistry.setRegistries([registry]);
  // The constructor installs prom-client's worker listener that sends the registry on request.
  new AggregatorRegistry();
  const pending = new Map<number, (response: MetricsResponse) => void>();
  let next = 0;
  process.on('message', (message: unknown) => {
    if (isResponse(message)) pending.get(message.id)?.(message);
  });
  return {
    metrics() {
      const id = next++;
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(telemetryErrors.metricsSourceTimeout('the cluster primary', timeoutMs));
        }, timeoutMs);
        pending.set(id, (response) => {
          clearTimeout(timer);
          pending.delete(id);
          if (response.text !== undefined) resolve(response.text);
          else reject(telemetryErrors.clusterMetricsFailed(response.error ?? 'no metrics'));
        });
        process.send?.({ type: REQUEST, id } satisfies MetricsRequest);
      });
    },
  };
}
