import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  registerQueueMetrics,
  type QueueMetricsSource,
  type QueueSnapshot,
} from './queue-metrics.ts';

const snapshot: QueueSnapshot = {
  jobs: [
    { queue: 'q', state: 'waiting', priority: 'high', count: 3 },
    { queue: 'q', state: 'active', priority: 'all', count: 1 },
  ],
  dlqSize: 4,
};

function scrape(source: QueueMetricsSource) {
  const registry = new Registry();
  registerQueueMetrics([registry], source);
  return registry;
}

describe('queue metrics', () => {
  it('reads the queues once per scrape and exposes every count', async () => {
    let reads = 0;
    const registry = scrape({
      read: () => {
        reads += 1;
        return Promise.resolve(snapshot);
      },
    });
    const text = await registry.metrics();
    expect(text).toContain('linkflow_queue_jobs{queue="q",state="waiting",priority="high"} 3');
    expect(text).toContain('linkflow_queue_jobs{queue="q",state="active",priority="all"} 1');
    expect(text).toContain('linkflow_dlq_size 4');
    expect(reads).toBe(1);
    await registry.metrics();
    expect(reads).toBe(2);
  });

  it('answers without queue samples when the read fails, and reports the error', async () => {
    const errors: unknown[] = [];
    let fail = false;
    const registry = scrape({
      read: () => (fail ? Promise.reject(new TypeError('redis down')) : Promise.resolve(snapshot)),
      onError: (err) => errors.push(err),
    });
    await registry.metrics();
    fail = true;
    const text = await registry.metrics();
    expect(text).toContain('# TYPE linkflow_queue_jobs gauge');
    expect(text).toContain('# TYPE linkflow_dlq_size gauge');
    expect(text).not.toMatch(/^linkflow_queue_jobs\{/m);
    expect(text).not.toMatch(/^linkflow_dlq_size /m);
    expect(errors).toHaveLength(1);
  });

  it('gives up on a read that never answers after timeoutMs', async () => {
    const errors: unknown[] = [];
    const registry = scrape({
      read: () => new Promise<never>(() => undefined),
      timeoutMs: 200,
      onError: (err) => errors.push(err),
    });
    const text = await registry.metrics();
    expect(text).not.toMatch(/^linkflow_dlq_size /m);
    expect(errors).toEqual([expect.objectContaining({ code: 'METRICS_SOURCE_TIMEOUT' })]);
  });
});
