import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BREAKER_STATE_VALUE, createApiMetrics, createExecutorMetrics } from './metrics.ts';

/** What only executors measure (they run the executions). */
const EXECUTOR_NAMES = [
  'linkflow_executions_started_total',
  'linkflow_executions_finished_total',
  'linkflow_executions_active',
  'linkflow_execution_duration_seconds',
  'linkflow_node_duration_seconds',
  'linkflow_node_retries_total',
  'linkflow_queue_depth',
  'linkflow_dlq_size',
  'linkflow_breaker_state',
  'linkflow_cost_usd_total',
];

/** What only the API measures. */
const API_NAMES = ['linkflow_http_requests_total', 'linkflow_http_request_duration_seconds'];

const typesIn = (text: string) => [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string);

describe('createExecutorMetrics', () => {
  it('exposes the execution metrics and the prefixed default metrics, no HTTP metrics', async () => {
    const text = await createExecutorMetrics().registry.metrics();

    expect(typesIn(text)).toEqual(expect.arrayContaining(EXECUTOR_NAMES));
    for (const name of API_NAMES) expect(typesIn(text)).not.toContain(name);
    expect(text).toContain('linkflow_process_cpu_user_seconds_total');
    expect(text).toContain('linkflow_nodejs_eventloop_lag_seconds');
  });

  it('records labelled values on its own registry only', async () => {
    const metrics = createExecutorMetrics(new Registry());
    const other = createExecutorMetrics(new Registry());

    metrics.executionsStarted.inc({ priority: 'high' });
    metrics.breakerState.set('shop.example:443', BREAKER_STATE_VALUE.open);
    metrics.nodeDuration.observe({ type: 'http', status: 'success' }, 0.2);

    const text = await metrics.registry.metrics();
    expect(text).toContain('linkflow_executions_started_total{priority="high"} 1');
    expect(text).toContain('linkflow_breaker_state{target="shop.example:443"} 2');
    expect(text).toContain(
      'linkflow_node_duration_seconds_bucket{le="0.25",type="http",status="success"} 1',
    );
    expect(await other.registry.metrics()).not.toContain('priority="high"');
  });
});

describe('createApiMetrics', () => {
  it('exposes the HTTP metrics and the default metrics, no execution metric', async () => {
    const text = await createApiMetrics().registry.metrics();

    expect(typesIn(text)).toEqual(expect.arrayContaining(API_NAMES));
    for (const name of EXECUTOR_NAMES) expect(typesIn(text)).not.toContain(name);
    expect(text).toContain('linkflow_process_cpu_user_seconds_total');
  });
});

describe('metric names', () => {
  it('start with the prefix in both sets', async () => {
    for (const metrics of [createApiMetrics(), createExecutorMetrics()]) {
      const json = await metrics.registry.getMetricsAsJSON();

      expect(json.filter((m) => !m.name.startsWith('linkflow_'))).toEqual([]);
    }
  });
});
