import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RetentionPort, SweepLock } from '../ports.ts';
import { createRecordingLogger } from '../testing/recording-logger.ts';
import { startRetention, type RetentionOptions } from './retention.ts';

const options: RetentionOptions = {
  days: 30,
  intervalMs: 1_000,
  batchSize: 10,
  maxBatches: 3,
  deleteExecutions: false,
};
const now = new Date('2026-06-30T00:00:00Z');

function lock(held: boolean): SweepLock & { released: number } {
  return {
    released: 0,
    hold: () => Promise.resolve(held),
    release() {
      this.released++;
      return Promise.resolve();
    },
  };
}

/** A store whose batches answer `sizes` in turn (then 0), recording each request. */
function store(sizes: (number | Error)[]) {
  const requests: Parameters<RetentionPort['purge']>[0][] = [];
  const port: RetentionPort = {
    purge(request) {
      requests.push(request);
      const next = sizes.shift() ?? 0;
      if (next instanceof Error) return Promise.reject(next);
      return Promise.resolve({ executions: next, nodeRuns: next * 3, logs: next * 5 });
    },
  };
  return { port, requests };
}

afterEach(() => vi.useRealTimers());

async function runPasses(
  s: ReturnType<typeof store>,
  l: SweepLock,
  passes: number,
  log = createRecordingLogger(),
) {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
  const stop = startRetention({ store: s.port, lock: l, clock: { now: () => now }, log }, options);
  for (let i = 0; i < passes; i++) await vi.advanceTimersByTimeAsync(options.intervalMs);
  vi.useRealTimers();
  await stop();
  return log;
}

describe('startRetention', () => {
  it('purges in batches up to a short one, with the cutoff `days` back', async () => {
    const s = store([10, 10, 4]);
    const log = await runPasses(s, lock(true), 1);
    expect(s.requests).toHaveLength(3);
    expect(s.requests[0]).toEqual({
      before: new Date('2026-05-31T00:00:00Z'),
      limit: 10,
      deleteExecutions: false,
    });
    expect(log.lines.find((l) => l.message === 'retention purged old executions')?.fields).toEqual(
      expect.objectContaining({ executions: 24, nodeRuns: 72, logs: 120 }),
    );
  });

  it('stops a pass at maxBatches; the next pass goes on', async () => {
    const s = store([10, 10, 10, 10, 2]);
    await runPasses(s, lock(true), 2);
    expect(s.requests).toHaveLength(5);
  });

  it('does nothing where another process holds the lock, and releases it on stop', async () => {
    const s = store([10]);
    const l = lock(false);
    await runPasses(s, l, 2);
    expect(s.requests).toHaveLength(0);
    expect(l.released).toBe(1);
  });

  it('logs a failed pass (Postgres gone) and tries again on the next one', async () => {
    const s = store([new TypeError('connection terminated'), 3]);
    const log = await runPasses(s, lock(true), 2);
    expect(log.lines.some((l) => l.level === 'warn' && l.message === 'retention pass failed')).toBe(
      true,
    );
    expect(s.requests).toHaveLength(2);
  });
});
