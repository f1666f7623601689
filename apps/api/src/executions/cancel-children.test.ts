import { describe, expect, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import type { CancelledChild } from '@linkflow/domain';
import { cancelChildren } from './cancel-children.ts';
import type { ExecutionSignals } from './execution-routes.ts';

function recorder() {
  const calls: string[] = [];
  const signals: ExecutionSignals = {
    cancel: (id) => Promise.resolve(void calls.push(`cancel ${id}`)),
    timeoutChanged: () => Promise.resolve(),
    dequeue: (id) => Promise.resolve(void calls.push(`dequeue ${id}`)),
    cancelledPending: (id) => Promise.resolve(void calls.push(`pending ${id}`)),
    traceContext: () => undefined,
  };
  const warnings: string[] = [];
  const log = {
    warn: (_f: unknown, m: string) => warnings.push(m),
  } as unknown as FastifyBaseLogger;
  const queue = {
    requeue: (job: { executionId: string }) =>
      Promise.resolve(void calls.push(`requeue ${job.executionId}`)),
  };
  return { calls, signals, warnings, log, queue };
}

const clock = { now: () => new Date() };

describe('cancelChildren', () => {
  it('signals running children to abort and takes pending ones off the queue', async () => {
    const r = recorder();
    const cancelled: CancelledChild[] = [
      { id: 'run', from: 'running' },
      { id: 'wait', from: 'pending' },
    ];
    const children = {
      cancelDescendants: () => Promise.resolve(cancelled),
      wakeParent: () => Promise.resolve(undefined),
    };
    await cancelChildren({ children, signals: r.signals, clock, queue: r.queue }, 'p', r.log);
    expect(r.calls.sort()).toEqual(['cancel run', 'dequeue wait', 'pending wait']);
  });

  it('wakes and enqueues the parent parked on the cancelled execution', async () => {
    const r = recorder();
    const parent = {
      executionId: 'up',
      tenantId: 't',
      priority: 'normal',
      workerTags: [],
    } as const;
    const children = {
      cancelDescendants: () => Promise.resolve([]),
      wakeParent: () => Promise.resolve(parent),
    };
    await cancelChildren({ children, signals: r.signals, clock, queue: r.queue }, 'c', r.log);
    expect(r.calls).toEqual(['requeue up']);
  });

  it('logs and does not throw when the cascade fails (the sweeper finishes it)', async () => {
    const r = recorder();
    const children = {
      cancelDescendants: () => Promise.reject(new TypeError('db down')),
      wakeParent: () => Promise.resolve(undefined),
    };
    await expect(
      cancelChildren({ children, signals: r.signals, clock, queue: r.queue }, 'p', r.log),
    ).resolves.toBeUndefined();
    expect(r.warnings).toEqual(['cancelling child executions failed; the sweeper does']);
  });
});
