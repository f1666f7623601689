import { describe, expect, it, vi } from 'vitest';
import { NodeError } from '@linkflow/nodes';
import { childController, raceAbort, sleep } from './abortable.ts';
import { withDbRetry } from './db-retry.ts';
import { RunHandle, RunTable } from './run-handle.ts';
import { Semaphore } from './semaphore.ts';

describe('Semaphore', () => {
  it('admits at most size holders and wakes waiters in order', async () => {
    const sem = new Semaphore(1);
    const order: string[] = [];
    const first = await sem.acquire();
    const second = sem.acquire().then((release) => (order.push('second'), release));
    const third = sem.acquire().then((release) => (order.push('third'), release));
    expect(order).toEqual([]);
    first();
    first();
    (await second)();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    const again = await sem.acquire();
    again();
  });
});

describe('RunHandle', () => {
  it('stops with the first reason only', () => {
    const handle = new RunHandle();
    handle.stop('cancel');
    handle.stop('timeout', '1 s');
    expect(handle.stopKind).toBe('cancel');
    expect((handle.controller.signal.reason as NodeError).type).toBe('CANCELLATION');
  });

  it('is abandoned without being stopped: the DAG runner aborts its own nodes', () => {
    const handle = new RunHandle();
    expect(handle.abandoned).toBe(false);
    handle.abandon();
    expect(handle.abandoned).toBe(true);
    expect(handle.stopKind).toBeUndefined();
    expect(handle.controller.signal.aborted).toBe(false);
  });

  it('times out at the deadline and at once when it already passed', () => {
    vi.useFakeTimers();
    try {
      const now = new Date('2026-01-01T00:00:10Z');
      const soon = new RunHandle();
      soon.armDeadline(new Date('2026-01-01T00:00:09Z'), 2000, now);
      expect(soon.stopKind).toBeUndefined();
      vi.advanceTimersByTime(1000);
      expect(soon.stopKind).toBe('timeout');
      expect((soon.controller.signal.reason as NodeError).message).toBe(
        'execution exceeded its timeout of 2 s',
      );
      const late = new RunHandle();
      late.armDeadline(new Date('2026-01-01T00:00:00Z'), 1000, now);
      expect(late.stopKind).toBe('timeout');
      const none = new RunHandle();
      none.armDeadline(now, undefined, now);
      expect(none.stopKind).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });

  it('routes cancel and timeout signals to the runs it holds', async () => {
    const table = new RunTable();
    const handle = new RunHandle();
    const reload = vi.fn(() => Promise.resolve());
    table.add({ handle, fence: { executionId: 'e1', attempt: 1 }, reloadTimeout: reload });
    expect(table.cancel('other')).toBe(false);
    await table.reloadTimeout('e1');
    expect(reload).toHaveBeenCalledOnce();
    expect(table.cancel('e1')).toBe(true);
    expect(handle.stopKind).toBe('cancel');
    table.remove('e1', handle);
    expect(table.size).toBe(0);
  });

  it('stops an older run of the same execution when a newer claim arrives here', () => {
    const table = new RunTable();
    const older = new RunHandle();
    const newer = new RunHandle();
    const reloadTimeout = () => Promise.resolve();
    table.add({ handle: older, fence: { executionId: 'e1', attempt: 1 }, reloadTimeout });
    table.add({ handle: newer, fence: { executionId: 'e1', attempt: 2 }, reloadTimeout });
    expect(older.stopKind).toBe('lease_lost');
    // the older run's cleanup and a stop aimed at its attempt leave the newer run alone
    table.remove('e1', older);
    expect(table.stop('e1', 'lease_lost', 1)).toBe(false);
    expect(table.fences()).toEqual([{ executionId: 'e1', attempt: 2 }]);
    expect(newer.stopKind).toBeUndefined();
    table.stopAll('shutdown');
    expect(newer.stopKind).toBe('shutdown');
  });
});

describe('abortable helpers', () => {
  it('sleep rejects with the abort reason', async () => {
    const c = new AbortController();
    const p = sleep(10_000, c.signal);
    c.abort(new NodeError('TIMEOUT', 'late'));
    await expect(p).rejects.toMatchObject({ type: 'TIMEOUT' });
    await expect(sleep(1, c.signal)).rejects.toMatchObject({ type: 'TIMEOUT' });
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });

  it('raceAbort stops waiting for work that ignores its signal', async () => {
    const c = new AbortController();
    const never = new Promise<number>(() => undefined);
    const p = raceAbort(never, c.signal);
    c.abort();
    await expect(p).rejects.toMatchObject({ type: 'CANCELLATION' });
    await expect(raceAbort(Promise.resolve(1), new AbortController().signal)).resolves.toBe(1);
    await expect(
      raceAbort(Promise.reject(new NodeError('EXECUTION', 'x')), new AbortController().signal),
    ).rejects.toMatchObject({ type: 'EXECUTION' });
    await expect(raceAbort(Promise.resolve(1), c.signal)).rejects.toMatchObject({
      type: 'CANCELLATION',
    });
  });

  it('childController follows its parent and can be detached', () => {
    const parent = new AbortController();
    const { controller, dispose } = childController(parent.signal);
    const { controller: detached, dispose: detach } = childController(parent.signal);
    detach();
    parent.abort('why');
    dispose();
    expect(controller.signal.reason).toBe('why');
    expect(detached.signal.aborted).toBe(false);
    expect(childController(parent.signal).controller.signal.aborted).toBe(true);
  });
});

describe('withDbRetry', () => {
  const transient = new Set(['57P01', 'ECONNREFUSED']);
  const isTransient = (err: unknown) =>
    typeof err === 'object' && err !== null && 'code' in err && transient.has(String(err.code));

  it('retries errors the store calls transient with backoff, then succeeds', async () => {
    let calls = 0;
    const onRetry = vi.fn();
    const result = await withDbRetry(
      () => {
        calls++;
        if (calls < 3) return Promise.reject(Object.assign(new Error('down'), { code: '57P01' }));
        return Promise.resolve('ok');
      },
      { isTransient, onRetry },
    );
    expect(result).toBe('ok');
    expect(onRetry.mock.calls.map((c) => c[1])).toEqual([50, 100]);
  });

  it('treats a store that throws instead of rejecting like one that rejects', async () => {
    // ARRANGE: the first call throws a transient error synchronously
    let calls = 0;
    const work = () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
      return Promise.resolve('ok');
    };
    // ACT + ASSERT: retried, not thrown at the caller
    await expect(withDbRetry(work, { isTransient })).resolves.toBe('ok');
    expect(calls).toBe(2);
  });

  it('rethrows other errors at once and gives up after maxWaitMs', async () => {
    const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
    await expect(withDbRetry(() => Promise.reject(syntax), { isTransient })).rejects.toBe(syntax);
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await expect(
      withDbRetry(() => Promise.reject(down), { isTransient, maxWaitMs: 100 }),
    ).rejects.toBe(down);
  });
});
