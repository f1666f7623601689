import { describe, expect, it } from 'vitest';
import { createNodeRegistry, NodeError } from '@linkflow/nodes';
import { createEngine, type EngineDeps, type EngineMetrics } from './engine.ts';
import type { RunStorePort } from './ports.ts';
import { RunHandle } from './run/run-handle.ts';
import { createRecordingLogger } from './testing/recording-logger.ts';

const unused = () => Promise.reject(new TypeError('not used in this test'));

/** An engine over fakes; `order` records shutdown steps. */
function engineOverFakes(order: string[], extra: Partial<EngineDeps> = {}) {
  const runStore: RunStorePort = {
    claim: unused,
    checkpoint: unused,
    appendLogs: unused,
    markStarted: unused,
    finish: unused,
    markDead: unused,
    readState: unused,
    isTransient: () => false,
  };
  const deps: EngineDeps = {
    runStore,
    leases: {
      renew: () => Promise.resolve({ held: [], lost: [] }),
      release: unused,
      orphans: unused,
    },
    registry: createNodeRegistry([]),
    events: { status: () => undefined, logs: () => undefined },
    dlq: { add: unused },
    clock: { now: () => new Date() },
    log: createRecordingLogger(),
    workerId: 'w1',
    limits: {
      concurrency: 2,
      leaseMs: 60_000,
      maxOutputBytes: 1024,
      maxExecutionOutputBytes: 1024,
      expressionTimeoutMs: 100,
    },
    sweep: {
      queue: { standing: unused, requeue: unused },
      lock: {
        hold: () => Promise.resolve(false),
        release: () => (order.push('sweeper stopped'), Promise.resolve()),
      },
      options: { intervalMs: 60_000, pendingGraceMs: 1000 },
    },
    ...extra,
  };
  return createEngine(deps);
}

describe('Engine.drain', () => {
  it('stops sweeping before the consumer closes, and interrupts nothing that finished in time', async () => {
    const order: string[] = [];
    const engine = engineOverFakes(order);
    const handle = new RunHandle();
    engine.runs.add({ handle, fence: { executionId: 'e1', attempt: 1 }, reloadTimeout: unused });
    // ACT
    await engine.drain(() => (order.push('consumer closing'), Promise.resolve()), 60_000);
    engine.close();
    // ASSERT
    expect(order).toEqual(['sweeper stopped', 'consumer closing']);
    expect(handle.stopKind).toBeUndefined();
  });

  it('stops runs still going after the grace period as shutdown (they resume elsewhere)', async () => {
    const engine = engineOverFakes([]);
    const handle = new RunHandle();
    engine.runs.add({ handle, fence: { executionId: 'e1', attempt: 1 }, reloadTimeout: unused });
    // The consumer closes once its one run has stopped.
    const closed = new Promise<void>((resolve) =>
      handle.controller.signal.addEventListener('abort', () => resolve()),
    );
    // ACT
    await engine.drain(() => closed, 1);
    engine.close();
    // ASSERT
    expect(handle.stopKind).toBe('shutdown');
  });
});

describe('Engine breaker metrics', () => {
  it("shows each target's worst state over its tenant breakers and counts every transition", async () => {
    const calls: string[] = [];
    const metrics: EngineMetrics = {
      executionStarted: () => undefined,
      executionFinished: () => undefined,
      cost: () => undefined,
      nodeRetried: () => undefined,
      nodeAttempted: () => undefined,
      breakerChanged: (target, state) => calls.push(`state ${target} ${state}`),
      breakerTransitioned: (target, to) => calls.push(`transition ${target} ${to}`),
      breakerEvicted: (target) => calls.push(`evicted ${target}`),
    };
    const engine = engineOverFakes([], { metrics });
    const fail = () => Promise.reject(new NodeError('CONNECTIVITY', 'refused'));
    const lax = { overrides: { volumeThreshold: 1, errorThresholdPercentage: 1 } };
    const target = 'api.example:443';
    try {
      // ACT: tenant a fails once with lax thresholds (its breaker opens), tenant b succeeds
      await expect(engine.breakers.fire({ tenantId: 'a', target }, fail, lax)).rejects.toThrow();
      await engine.breakers.fire({ tenantId: 'b', target }, () => Promise.resolve(1));
    } finally {
      engine.close();
    }
    // ASSERT: one series per target; b's new closed breaker does not hide a's open one
    expect(calls).toEqual([
      `state ${target} closed`,
      `transition ${target} open`,
      `state ${target} open`,
      `state ${target} open`,
    ]);
  });
});
