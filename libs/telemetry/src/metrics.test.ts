import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BREAKER_STATE_VALUE, createMetrics } from './metrics.ts';

const NAMES = [
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
  'linkflow_http_requests_total',
  'linkflow_http_request_duration_seconds',
];

describe('createMetrics', () => {
  it('exposes every LinkFlow metric and the prefixed default metrics', async () => {
    const metrics = createMetrics();

    const text = await metrics.registry.metrics();

    for (const name of NAMES) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('linkflow_process_cpu_user_seconds_total');
    expect(text).toContain('linkflow_nodejs_eventloop_lag_seconds');
  });

  it('records labelled values on its own registry only', async () => {
    const metrics = createMetrics(new Registry());
    const other = createMetrics(new Registry());

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

  it('names every metric with the prefix', async () => {
    const metrics = createMetrics();

    const json = await metrics.registry.getMetricsAsJSON();

    expect(json.length).toBeGreaterThan(NAMES.length);
    expect(json.filter((m) => !m.name.startsWith('linkflow_'))).toEqual([]);
  });
});
