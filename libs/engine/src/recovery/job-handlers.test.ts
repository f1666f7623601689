import { describe, expect, it, vi } from 'vitest';
import { createRecordingLogger } from '../testing/recording-logger.ts';
import { engineJobHandlers } from './job-handlers.ts';

function setup(held: readonly string[]) {
  const reliably = vi.fn(() => Promise.resolve());
  const stop = vi.fn((id: string) => held.includes(id));
  const process = vi.fn(() => Promise.resolve('shutdown' as const));
  const log = createRecordingLogger();
  const engine = { process, runs: { stop }, deadLetterer: { reliably } };
  const handlers = engineJobHandlers(engine, { log, maxStalledCount: 2 });
  return { handlers, reliably, stop, process, log };
}

describe('engineJobHandlers', () => {
  it('runs the execution and passes its hand-over on', async () => {
    const { handlers, process } = setup([]);
    await expect(handlers.process('e1')).resolves.toBe('shutdown');
    expect(process).toHaveBeenCalledWith('e1');
  });

  it('dead-letters a spent job and one stalled past the limit', async () => {
    const { handlers, reliably } = setup([]);
    const error = new TypeError('gone');
    handlers.onFailed({
      jobId: 'e1',
      error,
      unrecoverable: true,
      attemptsMade: 1,
      maxAttempts: 3,
      stalledCount: 0,
    });
    handlers.onStalled('e2', () =>
      Promise.resolve({ stalledCount: 3, deferredFailure: undefined }),
    );
    await vi.waitFor(() => expect(reliably).toHaveBeenCalledTimes(2));
    expect(reliably).toHaveBeenCalledWith('e1', 'gone');
  });

  it('stops runs whose job lock was lost as lease_lost and logs the ones it held', () => {
    const { handlers, stop, log } = setup(['e1']);
    handlers.onLockLost(['e1', 'e2']);
    expect(stop.mock.calls).toEqual([
      ['e1', 'lease_lost'],
      ['e2', 'lease_lost'],
    ]);
    const warned = log.lines.filter((l) => l.level === 'warn');
    expect(warned.map((l) => l.fields)).toEqual([{ executionId: 'e1' }]);
  });
});
