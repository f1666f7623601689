import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CappedGauge } from './capped-gauge.ts';

/** Prefix of every LinkFlow metric (including the Node.js default metrics). */
export const METRIC_PREFIX = 'linkflow_';

/** Values of `linkflow_breaker_state`. */
export const BREAKER_STATE_VALUE = { closed: 0, half_open: 1, open: 2 } as const;

/** Targets with their own `linkflow_breaker_state` series; the rest share `target="other"`. */
export const MAX_BREAKER_TARGET_LABELS = 50;

/** Buckets (seconds) for whole executions: sub-second up to the 10-minute range. */
export const EXECUTION_DURATION_BUCKETS: readonly number[] = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

/** Buckets (seconds) for node runs and HTTP requests: milliseconds up to a minute. */
export const SHORT_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * What the API measures, on `registry` (never prom-client's global one): its HTTP requests
 * and the process. Execution metrics live on the executors, which run the executions; the
 * API does not export them, so none of them reads a constant 0 there.
 */
export interface ApiMetrics {
  /** Serve `registry.metrics()` with `registry.contentType` on `/metrics`. */
  readonly registry: Registry;
  /** `linkflow_http_requests_total{method,route,status}`; `route` is the route pattern. */
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  /** `linkflow_http_request_duration_seconds{method,route}` */
  readonly httpRequestDuration: Histogram<'method' | 'route'>;
  /** `linkflow_ws_streams`: live log streams open on this process. */
  readonly wsStreams: Gauge;
  /** `linkflow_ws_streams_closed_total{reason}`: end, client, slow_consumer, bad_frame, shutdown. */
  readonly wsStreamsClosed: Counter<'reason'>;
}

/**
 * What an executor measures, on `registry`: the executions and node runs it runs, the
 * queues it samples, its breakers and the process. Labels are low-cardinality on purpose:
 * no execution, workflow or tenant ids.
 */
export interface ExecutorMetrics {
  /** Serve `registry.metrics()` with `registry.contentType` on `/metrics`. */
  readonly registry: Registry;
  /** `linkflow_executions_started_total{priority}` */
  readonly executionsStarted: Counter<'priority'>;
  /** `linkflow_executions_finished_total{status}` (success, failed, cancelled) */
  readonly executionsFinished: Counter<'status'>;
  /** `linkflow_executions_active`: executions running in this process. */
  readonly executionsActive: Gauge;
  /** `linkflow_execution_duration_seconds{status}` */
  readonly executionDuration: Histogram<'status'>;
  /** `linkflow_node_duration_seconds{type,status}`: one observation per node run attempt. */
  readonly nodeDuration: Histogram<'type' | 'status'>;
  /** `linkflow_node_retries_total{type}` */
  readonly nodeRetries: Counter<'type'>;
  /** `linkflow_queue_depth{queue,state,priority}` */
  readonly queueDepth: Gauge<'queue' | 'state' | 'priority'>;
  /** `linkflow_dlq_size` */
  readonly dlqSize: Gauge;
  /**
   * `linkflow_breaker_state{target}`: see {@link BREAKER_STATE_VALUE}. The first
   * {@link MAX_BREAKER_TARGET_LABELS} targets get a series, the rest share `other` (their
   * worst state); `remove` drops an evicted breaker's series.
   */
  readonly breakerState: CappedGauge<'target'>;
  /** `linkflow_cost_usd_total`: no labels (per-workflow cost lives in Postgres reports). */
  readonly costUsd: Counter;
}

function executionMetrics(registers: Registry[]) {
  return {
    executionsStarted: new Counter({
      name: 'linkflow_executions_started_total',
      help: 'Executions started, by priority.',
      labelNames: ['priority'] as const,
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
      help: 'Execution duration from start to terminal status.',
      labelNames: ['status'] as const,
      buckets: [...EXECUTION_DURATION_BUCKETS],
      registers,
    }),
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
    costUsd: new Counter({
      name: 'linkflow_cost_usd_total',
      help: 'Cost of finished node runs in US dollars.',
      registers,
    }),
  };
}

function infrastructureMetrics(registers: Registry[]) {
  return {
    queueDepth: new Gauge({
      name: 'linkflow_queue_depth',
      help: 'Jobs in a queue, by state and priority.',
      labelNames: ['queue', 'state', 'priority'] as const,
      registers,
    }),
    dlqSize: new Gauge({
      name: 'linkflow_dlq_size',
      help: 'Entries in the dead-letter queue.',
      registers,
    }),
    breakerState: new CappedGauge(
      new Gauge({
        name: 'linkflow_breaker_state',
        help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open (target "other": the worst past the cap).',
        labelNames: ['target'] as const,
        registers,
      }),
      'target',
      MAX_BREAKER_TARGET_LABELS,
    ),
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
 * The API's metrics plus the Node.js default metrics (`linkflow_process_*`,
 * `linkflow_nodejs_*`) on `registry`. Build it once per process in the composition root.
 * @throws Error from prom-client when `registry` already holds these metrics.
 */
export function createApiMetrics(registry: Registry = new Registry()): ApiMetrics {
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return { registry, ...httpMetrics([registry]), ...streamMetrics([registry]) };
}

/**
 * An executor's metrics plus the Node.js default metrics (`linkflow_process_*`,
 * `linkflow_nodejs_*`) on `registry`. Build it once per process in the composition root.
 * @throws Error from prom-client when `registry` already holds these metrics.
 */
export function createExecutorMetrics(registry: Registry = new Registry()): ExecutorMetrics {
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return { registry, ...executionMetrics(registers), ...infrastructureMetrics(registers) };
}
