import { describe, expect, it } from 'vitest';
import { createExecutorMetrics } from './metrics.ts';
import { runMetrics } from './run-metrics.ts';

function setup(maxWorkflows = 50, maxTargets = 50) {
  const m = createExecutorMetrics({ maxWorkflows, maxTargets });
  const text = () => m.registry.metrics();
  return { port: runMetrics(m), text };
}

describe('runMetrics', () => {
  it('counts a first start under the workflow name, a resume only as active', async () => {
    const { port, text } = setup();
    port.executionStarted({ workflow: 'orders', priority: 'high', resumed: false });
    port.executionStarted({ workflow: 'orders', priority: 'high', resumed: true });
    const out = await text();
    expect(out).toContain('linkflow_executions_started_total{workflow="orders",priority="high"} 1');
    expect(out).toContain('linkflow_executions_active 2');
  });

  it('finishes terminal statuses only; a handed-over run just leaves active', async () => {
    const { port, text } = setup();
    port.executionStarted({ workflow: 'w', priority: 'low', resumed: false });
    port.executionStarted({ workflow: 'w', priority: 'low', resumed: false });
    port.executionFinished('success', 0.2);
    port.executionFinished('lost', 0.1);
    const out = await text();
    expect(out).toContain('linkflow_executions_active 0');
    expect(out).toContain('linkflow_executions_finished_total{status="success"} 1');
    expect(out).not.toContain('status="lost"');
    expect(out).toContain('linkflow_execution_duration_seconds_count{status="success"} 1');
  });

  it('adds cost per workflow name, past the cap as other, and skips zero', async () => {
    const { port, text } = setup(1);
    port.cost(0.5, 'first');
    port.cost(0.25, 'second');
    port.cost(0, 'third');
    const out = await text();
    expect(out).toContain('linkflow_execution_cost_usd_total{workflow="first"} 0.5');
    expect(out).toContain('linkflow_execution_cost_usd_total{workflow="other"} 0.25');
    expect(out).not.toContain('third');
  });

  it('shows a breaker from its creation and removes it on eviction', async () => {
    const { port, text } = setup();
    port.breakerChanged('api.example:443', 'closed');
    port.breakerChanged('api.example:443', 'open');
    expect(await text()).toContain('linkflow_circuit_breaker_state{target="api.example:443"} 2');
    port.breakerEvicted('api.example:443');
    expect(await text()).not.toContain('api.example:443');
  });

  it('counts breaker transitions by target and new state, past the target cap as other', async () => {
    const { port, text } = setup(50, 1);
    port.breakerTransitioned('a.example:443', 'open');
    port.breakerTransitioned('a.example:443', 'half_open');
    port.breakerTransitioned('a.example:443', 'open');
    port.breakerTransitioned('b.example:443', 'open');
    const out = await text();
    expect(out).toContain(
      'linkflow_circuit_breaker_transitions_total{target="a.example:443",to="open"} 2',
    );
    expect(out).toContain(
      'linkflow_circuit_breaker_transitions_total{target="a.example:443",to="half_open"} 1',
    );
    expect(out).toContain('linkflow_circuit_breaker_transitions_total{target="other",to="open"} 1');
    expect(out).not.toContain('b.example');
  });
});
