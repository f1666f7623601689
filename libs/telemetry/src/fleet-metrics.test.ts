import { describe, expect, it } from 'vitest';
import { createExecutorMetrics } from './metrics.ts';
import { fleetMetricsText, fleetSnapshot } from './fleet-metrics.ts';

/** One executor's metrics after `finished` successful runs, with a breaker in `state`. */
async function executorSnapshot(finished: number, state: number): Promise<string> {
  const m = createExecutorMetrics();
  for (let i = 0; i < finished; i++) m.executionsFinished.inc({ status: 'success' });
  m.executionsActive.set(1);
  m.nodeDuration.observe({ type: 'http', status: 'success' }, 0.02);
  m.breakerState.set('api.example:443', state);
  return fleetSnapshot(m.registry);
}

describe('fleet metrics', () => {
  it('snapshots only the execution, node, breaker and cost metrics', async () => {
    const names = (JSON.parse(await executorSnapshot(1, 0)) as { name: string }[]).map(
      (m) => m.name,
    );
    expect(names).toContain('linkflow_executions_finished_total');
    expect(names).toContain('linkflow_circuit_breaker_state');
    expect(names.some((n) => n.startsWith('process_') || n.startsWith('nodejs_'))).toBe(false);
    expect(names).not.toContain('linkflow_queue_jobs');
  });

  it('adds counters, gauges and histograms over executors; a breaker shows its worst state', async () => {
    const { text, skipped } = await fleetMetricsText([
      await executorSnapshot(2, 0),
      await executorSnapshot(3, 2),
    ]);
    expect(skipped).toBe(0);
    expect(text).toContain('linkflow_executions_finished_total{status="success"} 5');
    expect(text).toMatch(/^linkflow_executions_active 2$/m);
    expect(text).toContain('linkflow_node_duration_seconds_count{type="http",status="success"} 2');
    expect(text).toContain('linkflow_circuit_breaker_state{target="api.example:443"} 2');
    expect(text).toContain('# TYPE linkflow_execution_duration_seconds histogram');
  });

  it('leaves out snapshots that do not decode or name other metrics, and is empty without any', async () => {
    const foreign = JSON.stringify([
      { name: 'process_cpu_seconds_total', type: 'counter', values: [] },
    ]);
    const { text, skipped } = await fleetMetricsText([
      '{oops',
      '42',
      foreign,
      await executorSnapshot(1, 0),
    ]);
    expect(skipped).toBe(3);
    const shaped = (m: object) => JSON.stringify([{ ...JSON.parse(foreign)[0], ...m }]);
    const bad = await fleetMetricsText([
      shaped({
        name: 'linkflow_executions_active',
        type: 'gauge',
        aggregator: 'sum',
        help: 'h',
        values: [null],
      }),
      shaped({ name: 'linkflow_executions_active', type: 'gauge', help: 'h', values: [] }),
      shaped({
        name: 'linkflow_executions_active',
        type: 'gauge',
        aggregator: 'constructor',
        help: 'h',
        values: [],
      }),
      shaped({
        ...{ name: 'linkflow_executions_active', type: 'gauge', aggregator: 'sum', help: 'h' },
        values: [{ value: 1, labels: { 'bad label': 'x' } }],
      }),
    ]);
    expect(bad).toEqual({ text: '', skipped: 4 });
    expect(text).toContain('linkflow_executions_finished_total{status="success"} 1');
    expect(text).not.toContain('process_cpu_seconds_total');
    expect(await fleetMetricsText([])).toEqual({ text: '', skipped: 0 });
  });
});
