import { describe, expect, it } from 'vitest';
import { BREAKER_STATE_VALUE, createApiMetrics, createExecutorMetrics } from './metrics.ts';
import type { QueueSnapshot } from './queue-metrics.ts';

/** The contract's names and types, by the process that measures them. */
const EXECUTOR_ONLY = {
  linkflow_executions_started_total: 'counter',
  linkflow_executions_finished_total: 'counter',
  linkflow_executions_active: 'gauge',
  linkflow_execution_duration_seconds: 'histogram',
  linkflow_node_duration_seconds: 'histogram',
  linkflow_node_retries_total: 'counter',
  linkflow_circuit_breaker_state: 'gauge',
  linkflow_circuit_breaker_transitions_total: 'counter',
  linkflow_execution_cost_usd_total: 'counter',
};
const API_ONLY = {
  linkflow_http_requests_total: 'counter',
  linkflow_http_request_duration_seconds: 'histogram',
};
const QUEUE = { linkflow_queue_jobs: 'gauge', linkflow_dlq_size: 'gauge' };

const snapshot: QueueSnapshot = {
  jobs: [{ queue: 'q', state: 'waiting', priority: 'high', count: 3 }],
  dlqSize: 2,
};
const queue = { read: () => Promise.resolve(snapshot) };

const typesIn = (text: string) =>
  Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));

describe('createExecutorMetrics', () => {
  it('exposes the execution, node, breaker, cost and queue metrics, no HTTP metrics', async () => {
    const types = typesIn(await createExecutorMetrics({ queue }).registry.metrics());

    expect(types).toMatchObject({ ...EXECUTOR_ONLY, ...QUEUE });
    for (const name of Object.keys(API_ONLY)) expect(types).not.toHaveProperty(name);
  });

  it('records labelled values on its own registry only', async () => {
    const metrics = createExecutorMetrics();
    const other = createExecutorMetrics();

    metrics.executionsStarted.inc({ workflow: 'order-score', priority: 'high' });
    metrics.breakerState.set('shop.example:443', BREAKER_STATE_VALUE.open);
    metrics.nodeDuration.observe({ type: 'http', status: 'success' }, 0.2);
    metrics.cost.inc({ workflow: 'order-score' }, 0.0000125);

    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'linkflow_executions_started_total{workflow="order-score",priority="high"} 1',
    );
    expect(text).toContain('linkflow_circuit_breaker_state{target="shop.example:443"} 2');
    expect(text).toContain(
      'linkflow_node_duration_seconds_bucket{le="0.25",type="http",status="success"} 1',
    );
    expect(text).toContain('linkflow_execution_cost_usd_total{workflow="order-score"} 0.0000125');
    expect(await other.registry.metrics()).not.toContain('order-score');
  });

  it('caps the workflow label at maxWorkflows names, the rest count as other', () => {
    const metrics = createExecutorMetrics({ maxWorkflows: 2 });
    const labels = ['a', 'b', 'c', 'a', 'other', 'd'].map((n) => metrics.workflows.label(n));
    expect(labels).toEqual(['a', 'b', 'other', 'a', 'other', 'other']);
  });
});

describe('createApiMetrics', () => {
  it('exposes the HTTP and queue metrics, no execution metric', async () => {
    const types = typesIn(await createApiMetrics({ queue }).registry.metrics());

    expect(types).toMatchObject({ ...API_ONLY, ...QUEUE });
    for (const name of Object.keys(EXECUTOR_ONLY)) expect(types).not.toHaveProperty(name);
  });

  it('exports no queue metric without a queue source', async () => {
    const types = typesIn(await createApiMetrics().registry.metrics());
    for (const name of Object.keys(QUEUE)) expect(types).not.toHaveProperty(name);
  });
});

describe('default process metrics', () => {
  it('keep their usual unprefixed names on both processes', async () => {
    for (const metrics of [createApiMetrics(), createExecutorMetrics()]) {
      const types = typesIn(await metrics.registry.metrics());
      expect(types).toMatchObject({
        process_cpu_user_seconds_total: 'counter',
        process_resident_memory_bytes: 'gauge',
        nodejs_eventloop_lag_p99_seconds: 'gauge',
        nodejs_heap_size_used_bytes: 'gauge',
      });
      const ours = Object.keys(types).filter(
        (n) => !n.startsWith('process_') && !n.startsWith('nodejs_'),
      );
      expect(ours.filter((n) => !n.startsWith('linkflow_'))).toEqual([]);
    }
  });

  it('drop the gauges named like counters, keeping their labelled originals', async () => {
    const types = typesIn(await createExecutorMetrics().registry.metrics());
    expect(types).toMatchObject({ nodejs_active_handles: 'gauge' });
    expect(
      Object.keys(types).filter((n) => n.endsWith('_total') && types[n] !== 'counter'),
    ).toEqual([]);
  });
});
