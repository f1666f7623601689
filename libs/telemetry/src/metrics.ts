import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CappedGauge } from './capped-gauge.ts';
import { LabelCap } from './label-cap.ts';
import { registerQueueMetrics, type QueueMetricsSource } from './queue-metrics.ts';

/** Values of `linkflow_circuit_breaker_state`. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/** Default cap of the `workflow` and `target` label sets (the rest count as `other`). */
export const DEFAULT_MAX_LABEL_VALUES = 50;

/** Buckets (seconds) for whole executions: sub-second up to the 10-minute range. */
export const EXECUTION_DURATION_BUCKETS: readonly number[] = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

/** Buckets (seconds) for node runs and HTTP requests: milliseconds up to a minute. */
export const SHORT_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * prom-client default gauges whose names end in `_total`, which Prometheus reserves for
 * counters (`promtool check metrics` fails on them). Each is the sum of the labelled gauge
 * of the same name without the suffix (`sum(nodejs_active_handles)`), so nothing is lost.
 */
export const DROPPED_DEFAULT_METRICS: readonly string[] = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** prom-client's default process metrics under their usual names, minus the three above. */
function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
}

/** What both processes may measure besides their own metrics. */
export interface MetricsOptions {
  /** Defaults to a new registry (never prom-client's global one). */
  readonly registry?: Registry;
  /**
   * Queue counts read at scrape time (`linkflow_queue_jobs`, `linkflow_dlq_size`); without
   * it the process exports neither.
   */
  readonly queue?: QueueMetricsSource;
}

export interface ExecutorMetricsOptions extends MetricsOptions {
  /** Workflow names with their own series (default {@link DEFAULT_MAX_LABEL_VALUES}). */
  readonly maxWorkflows?: number;
  /** Breaker targets with their own series (default {@link DEFAULT_MAX_LABEL_VALUES}). */
  readonly maxTargets?: number;
}

/** The queue gauges, present when a {@link QueueMetricsSource} was given. */
export type QueueGauges = ReturnType<typeof registerQueueMetrics>;

/**
 * What the API measures: its HTTP requests, the queues (read at scrape) and the process.
 * Execution metrics live on the executors, which run the executions; the API does not
 * export them, so none of them reads a constant 0 there.
 */
export interface ApiMetrics {
  /** Serve `registry.metrics()` with `registry.contentType` on `/metrics`. */
  readonly registry: Registry;
  /** `linkflow_http_requests_total{method,route,status}`; `route` is the route pattern. */
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  /** `linkflow_http_request_duration_seconds{method,route}` */
  readonly httpRequestDuration: Histogram<'method' | 'route'>;
  readonly queue: QueueGauges | undefined;
  /** `linkflow_ws_streams`: live log streams open on this process. */
  readonly wsStreams: Gauge;
  /** `linkflow_ws_streams_closed_total{reason}`: end, client, slow_consumer, bad_frame, shutdown. */
  readonly wsStreamsClosed: Counter<'reason'>;
}

/**
 * What an executor measures: the executions and node runs it runs, its breakers, the
 * queues (read at scrape) and the process. Labels are low-cardinality on purpose: no ids;
 * `workflow` is the workflow's name and `target` a breaker key, both capped.
 */
export interface ExecutorMetrics {
  /** Serve `registry.metrics()` with `registry.contentType` on `/metrics`. */
  readonly registry: Registry;
  /**
   * The cap of the `workflow` label shared by started and cost: record
   * `workflows.label(name)`, never the raw name.
   */
  readonly workflows: LabelCap;
  /** `linkflow_executions_started_total{workflow,priority}`: first starts, not resumes. */
  readonly executionsStarted: Counter<'workflow' | 'priority'>;
  /** `linkflow_executions_finished_total{status}` (success, failed, cancelled) */
  readonly executionsFinished: Counter<'status'>;
  /** `linkflow_executions_active`: executions running in this process. */
  readonly executionsActive: Gauge;
  /** `linkflow_execution_duration_seconds{status}`: start (or resume) to terminal status. */
  readonly executionDuration: Histogram<'status'>;
  /** `linkflow_node_duration_seconds{type,status}`: one observation per node run attempt. */
  readonly nodeDuration: Histogram<'type' | 'status'>;
  /** `linkflow_node_retries_total{type}` */
  readonly nodeRetries: Counter<'type'>;
  /**
   * `linkflow_circuit_breaker_state{target}`: see {@link BREAKER_STATE_VALUE}. The first
   * `maxTargets` targets get a series, the rest share `other` (their worst state); `remove`
   * drops an evicted breaker's series.
   */
  readonly breakerState: CappedGauge<'target'>;
  /**
   * `linkflow_circuit_breaker_transitions_total{target,to}`: state changes (`to`: closed,
   * half_open, open). Record under `breakerTargets.label(target)`: the first `maxTargets`
   * targets keep their own series, later ones count as `other`.
   */
  readonly breakerTransitions: Counter<'target' | 'to'>;
  /** The capped `target` label set of {@link breakerTransitions}. */
  readonly breakerTargets: LabelCap;
  /** `linkflow_execution_cost_usd_total{workflow}`: cost of settled node runs in USD. */
  readonly cost: Counter<'workflow'>;
  readonly queue: QueueGauges | undefined;
}

function executionMetrics(registers: Registry[]) {
  return {
    executionsStarted: new Counter({
      name: 'linkflow_executions_started_total',
      help: 'Executions started (first start, not a resume), by workflow name and priority.',
      labelNames: ['workflow', 'priority'] as const,
      registers,
    }),
    executionsFinished: new Counter({
      name: 'linkflow_executions_finished_total',
      help: 'Executions finished, by terminal status.',
      labelNames: ['status'] as const,
      registers,
    }),
    executionsActive: new Gauge({
      name: 'linkflow_executions_active',
      help: 'Executions running in this process.',
      registers,
    }),
    executionDuration: new Histogram({
      name: 'linkflow_execution_duration_seconds',
      help: 'Execution run time in this process, from start or resume to terminal status.',
      labelNames: ['status'] as const,
      buckets: [...EXECUTION_DURATION_BUCKETS],
      registers,
    }),
    cost: new Counter({
      name: 'linkflow_execution_cost_usd_total',
      help: 'Cost of settled node runs in US dollars, by workflow name.',
      labelNames: ['workflow'] as const,
      registers,
    }),
  };
}

function nodeMetrics(registers: Registry[], maxTargets: number) {
  return {
    nodeDuration: new Histogram({
      name: 'linkflow_node_duration_seconds',
      help: 'Node run attempt duration, by node type and status.',
      labelNames: ['type', 'status'] as const,
      buckets: [...SHORT_DURATION_BUCKETS],
      registers,
    }),
    nodeRetries: new Counter({
      name: 'linkflow_node_retries_total',
      help: 'Node run retries, by node type.',
      labelNames: ['type'] as const,
      registers,
    }),
    breakerState: new CappedGauge(
      new Gauge({
        name: 'linkflow_circuit_breaker_state',
        help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open (target "other": the worst past the cap).',
        labelNames: ['target'] as const,
        // Merged over executors (the API's /metrics, a cluster): the worst state, as for `other`.
        aggregator: 'max',
        registers,
      }),
      'target',
      maxTargets,
    ),
    breakerTransitions: new Counter({
      name: 'linkflow_circuit_breaker_transitions_total',
      help: 'Circuit breaker state changes, by target and new state (target "other": past the cap).',
      labelNames: ['target', 'to'] as const,
      registers,
    }),
    breakerTargets: new LabelCap(maxTargets),
  };
}

function streamMetrics(registers: Registry[]) {
  return {
    wsStreams: new Gauge({
      name: 'linkflow_ws_streams',
      help: 'Live log streams (WebSocket) open on this process.',
      registers,
    }),
    wsStreamsClosed: new Counter({
      name: 'linkflow_ws_streams_closed_total',
      help: 'Live log streams closed, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}

function httpMetrics(registers: Registry[]) {
  return {
    httpRequests: new Counter({
      name: 'linkflow_http_requests_total',
      help: 'HTTP requests, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'linkflow_http_request_duration_seconds',
      help: 'HTTP request duration, by method and route pattern.',
      labelNames: ['method', 'route'] as const,
      buckets: [...SHORT_DURATION_BUCKETS],
      registers,
    }),
  };
}

/**
 * The API's metrics plus prom-client's default process metrics under their usual names
 * (`process_*`, `nodejs_*`; see {@link DROPPED_DEFAULT_METRICS}). Build it once per process in the composition root.
 * @throws Error from prom-client when the registry already holds these metrics.
 */
export function createApiMetrics(options: MetricsOptions = {}): ApiMetrics {
  const registry = options.registry ?? new Registry();
  collectProcessMetrics(registry);
  const queue = options.queue && registerQueueMetrics([registry], options.queue);
  return { registry, ...httpMetrics([registry]), ...streamMetrics([registry]), queue };
}

/**
 * An executor's metrics plus prom-client's default process metrics (`process_*`,
 * `nodejs_*`). Build it once per process in the composition root.
 * @throws Error from prom-client when the registry already holds these metrics.
 */
export function createExecutorMetrics(options: ExecutorMetricsOptions = {}): ExecutorMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  collectProcessMetrics(registry);
  const queue = options.queue && registerQueueMetrics(registers, options.queue);
  return {
    registry,
    workflows: new LabelCap(options.maxWorkflows ?? DEFAULT_MAX_LABEL_VALUES),
    ...executionMetrics(registers),
    ...nodeMetrics(registers, options.maxTargets ?? DEFAULT_MAX_LABEL_VALUES),
    queue,
  };
}
