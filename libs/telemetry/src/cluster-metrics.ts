import cluster, { type Worker } from 'node:cluster';
import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';
import { telemetryErrors } from './telemetry-errors.ts';

/**
 * Metrics of a process that runs as several `node:cluster` workers behind one port. A scrape
 * reaches whichever worker holds the connection, so each worker answers `/metrics` for all of
 * them: it asks the primary, which asks every worker that has joined for its registry over IPC
 * and merges them by each metric's `aggregator` (prom-client's `AggregatorRegistry.aggregate`:
 * counters and histograms add up; gauges read from a shared source say `first`).
 * A worker that does not answer within the collection deadline (hung, or busy booting) is left
 * out of that scrape instead of failing it: one stuck worker never blinds the whole cluster.
 */

const REQUEST = 'linkflow:cluster-metrics-request';
const RESPONSE = 'linkflow:cluster-metrics-response';
const JOINED = 'linkflow:cluster-metrics-joined';
const COLLECT = 'linkflow:cluster-metrics-collect';
const COLLECTED = 'linkflow:cluster-metrics-collected';

type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

interface Tagged {
  readonly type: string;
  readonly id?: number;
}

interface MetricsResponse {
  readonly type: typeof RESPONSE;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

const tagged = (m: unknown): m is Tagged =>
  typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';

/** How long the primary waits for the workers' registries (below a worker's own 5 s wait). */
export const CLUSTER_COLLECT_MS = 2_000;

/** One collection: the registries that arrive before its deadline. */
interface Collection {
  readonly waiting: Set<number>;
  readonly got: WorkerMetrics[];
  readonly done: () => void;
}

/**
 * In the primary: answers the workers' requests with the merged metrics of every joined
 * worker that answers within `collectMs`. Returns a function that stops answering.
 */
export function serveClusterMetrics(collectMs = CLUSTER_COLLECT_MS): () => void {
  const joined = new Set<number>();
  const collections = new Map<number, Collection>();
  let next = 0;
  const reply = (worker: Worker, response: MetricsResponse) => {
    if (worker.isConnected()) worker.send(response);
  };
  const collect = (asker: Worker, requestId: number) => {
    const id = next++;
    const targets = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w !== undefined && joined.has(w.id) && w.isConnected(),
    );
    const c: Collection = {
      waiting: new Set(targets.map((w) => w.id)),
      got: [],
      done: () => undefined,
    };
    const finish = () => {
      clearTimeout(timer);
      if (!collections.delete(id)) return;
      AggregatorRegistry.aggregate(c.got)
        .metrics()
        .then(
          (text) => reply(asker, { type: RESPONSE, id: requestId, text }),
          (err: unknown) => reply(asker, { type: RESPONSE, id: requestId, error: String(err) }),
        );
    };
    const timer = setTimeout(finish, collectMs);
    collections.set(id, { ...c, done: finish });
    for (const w of targets) w.send({ type: COLLECT, id });
    if (targets.length === 0) finish();
  };
  const onMessage = (worker: Worker, message: unknown) => {
    if (!tagged(message)) return;
    if (message.type === JOINED) joined.add(worker.id);
    else if (message.type === REQUEST && message.id !== undefined) collect(worker, message.id);
    else if (message.type === COLLECTED && message.id !== undefined) {
      const c = collections.get(message.id);
      if (c === undefined || !c.waiting.delete(worker.id)) return;
      c.got.push((message as unknown as { metrics: WorkerMetrics }).metrics);
      if (c.waiting.size === 0) c.done();
    }
  };
  const onExit = (worker: Worker) => {
    joined.delete(worker.id);
    for (const c of collections.values())
      if (c.waiting.delete(worker.id) && c.waiting.size === 0) c.done();
  };
  cluster.on('message', onMessage);
  cluster.on('exit', onExit);
  return () => {
    cluster.off('message', onMessage);
    cluster.off('exit', onExit);
  };
}

/** A worker's view of the cluster's metrics (see {@link joinClusterMetrics}). */
export interface ClusterMetrics {
  /** Prometheus text of every answering worker's registry, merged by the primary. */
  metrics(): Promise<string>;
}

/**
 * In a worker: offers `registry` to the primary's collections and reads the merged metrics
 * through it. A request the primary does not answer within `timeoutMs` fails.
 * @throws AppError METRICS_SOURCE_TIMEOUT (from `metrics()`) when the primary is silent
 */
export function joinClusterMetrics(registry: Registry, timeoutMs = 5_000): ClusterMetrics {
  const pending = new Map<number, (response: MetricsResponse) => void>();
  let next = 0;
  process.on('message', (message: unknown) => {
    if (!tagged(message) || message.id === undefined) return;
    const id = message.id;
    if (message.type === RESPONSE) pending.get(id)?.(message as MetricsResponse);
    else if (message.type === COLLECT) {
      // A registry that fails to collect sends nothing: the primary leaves it out at its deadline.
      registry
        .getMetricsAsJSON()
        .then((metrics) => process.send?.({ type: COLLECTED, id, metrics }))
        .catch(() => undefined);
    }
  });
  process.send?.({ type: JOINED });
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
        process.send?.({ type: REQUEST, id });
      });
    },
  };
}
