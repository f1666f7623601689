import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CappedGauge } from './capped-gauge.ts';
import { BREAKER_STATE_VALUE, createExecutorMetrics, DEFAULT_MAX_LABEL_VALUES } from './metrics.ts';

function capped(max: number) {
  const registry = new Registry();
  const gauge = new Gauge({
    name: 'state',
    help: 'state',
    labelNames: ['target'] as const,
    registers: [registry],
  });
  const series = async () =>
    Object.fromEntries(
      (await gauge.get()).values.map((v) => [String(v.labels['target']), v.value]),
    );
  return { capped: new CappedGauge(gauge, 'target', max), series };
}

describe('CappedGauge', () => {
  it('gives the first max values a series and the rest one `other` series with their maximum', async () => {
    const { capped: g, series } = capped(2);
    g.set('a:80', 0);
    g.set('b:80', 1);
    g.set('c:80', 2);
    g.set('d:80', 0);
    expect(await series()).toEqual({ 'a:80': 0, 'b:80': 1, other: 2 });
    g.set('c:80', 0);
    expect(await series()).toEqual({ 'a:80': 0, 'b:80': 1, other: 0 });
  });

  it('removes the series of a removed value and drops `other` once empty', async () => {
    const { capped: g, series } = capped(1);
    g.set('a:80', 2);
    g.set('b:80', 1);
    g.remove('b:80');
    expect(await series()).toEqual({ 'a:80': 2 });
    g.remove('a:80');
    expect(await series()).toEqual({});
    g.set('c:80', 1); // the freed slot goes to the next new value
    expect(await series()).toEqual({ 'c:80': 1 });
    g.remove('never-set');
    expect(g.labelledKeys()).toEqual(['c:80']);
  });
});

describe('linkflow_circuit_breaker_state', () => {
  it(`caps its target label set at ${DEFAULT_MAX_LABEL_VALUES} series plus other by default`, async () => {
    const metrics = createExecutorMetrics();
    for (let i = 0; i < 1000; i += 1)
      metrics.breakerState.set(`host-${i}.example:443`, BREAKER_STATE_VALUE.closed);
    metrics.breakerState.set('host-999.example:443', BREAKER_STATE_VALUE.open);
    const lines = (await metrics.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith('linkflow_circuit_breaker_state{'));
    expect(lines).toHaveLength(DEFAULT_MAX_LABEL_VALUES + 1);
    expect(lines).toContain('linkflow_circuit_breaker_state{target="other"} 2');
  });

  it('takes its cap from maxTargets', async () => {
    const metrics = createExecutorMetrics({ maxTargets: 2 });
    for (const host of ['a:80', 'b:80', 'c:80'])
      metrics.breakerState.set(host, BREAKER_STATE_VALUE.half_open);
    expect(metrics.breakerState.labelledKeys()).toEqual(['a:80', 'b:80']);
    expect(await metrics.registry.metrics()).toContain(
      'linkflow_circuit_breaker_state{target="other"} 1',
    );
  });
});
