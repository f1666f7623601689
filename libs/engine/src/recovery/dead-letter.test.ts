import { describe, expect, it, vi } from 'vitest';
import { createRecordingLogger } from '../testing/recording-logger.ts';
import { createDeadLetterer } from './dead-letter.ts';

const log = createRecordingLogger();
const noEvents = { status: () => undefined };

describe('createDeadLetterer', () => {
  it('retries marking the execution dead until Postgres answers', async () => {
    let calls = 0;
    const markDead = vi.fn(() => {
      calls++;
      return calls < 3
        ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
        : Promise.resolve(true);
    });
    const add = vi.fn(() => Promise.resolve('e1'));
    const deadLetterer = createDeadLetterer({
      dlq: { add },
      runStore: { markDead },
      events: noEvents,
      clock: { now: () => new Date(0) },
      log,
      signal: new AbortController().signal,
      initialDelayMs: 1,
    });
    // ACT
    await deadLetterer.reliably('e1', 'job stalled more than allowable limit');
    // ASSERT
    expect(markDead).toHaveBeenCalledTimes(3);
    expect(markDead).toHaveBeenLastCalledWith(
      'e1',
      'job stalled more than allowable limit',
      new Date(0),
    );
    expect(add).toHaveBeenCalledWith('e1', 'job stalled more than allowable limit');
  });

  it('gives up when the executor stops, leaving the rest to the sweeper', async () => {
    const stop = new AbortController();
    const markDead = vi.fn(() => {
      stop.abort();
      return Promise.reject(new TypeError('database gone'));
    });
    const deadLetterer = createDeadLetterer({
      dlq: { add: () => Promise.resolve('e1') },
      runStore: { markDead },
      events: noEvents,
      clock: { now: () => new Date(0) },
      log,
      signal: stop.signal,
    });
    await expect(deadLetterer.reliably('e1', 'why')).resolves.toBeUndefined();
    expect(markDead).toHaveBeenCalledOnce();
    await expect(deadLetterer.once('e1', 'why')).rejects.toThrow('database gone');
  });

  it('publishes failed once, after the call that moved the execution', async () => {
    // ARRANGE: the first call moves it, the second finds it already terminal.
    const moved = [true, false];
    const status = vi.fn();
    const deadLetterer = createDeadLetterer({
      dlq: { add: () => Promise.resolve('e1') },
      runStore: { markDead: () => Promise.resolve(moved.shift() ?? false) },
      events: { status },
      clock: { now: () => new Date(0) },
      log,
      signal: new AbortController().signal,
    });
    // ACT
    await deadLetterer.once('e1', 'stalled');
    await deadLetterer.once('e1', 'stalled');
    // ASSERT
    expect(status.mock.calls).toEqual([['e1', 'failed']]);
  });

  it('publishes nothing when marking the execution dead fails', async () => {
    const status = vi.fn();
    const deadLetterer = createDeadLetterer({
      dlq: { add: () => Promise.resolve('e1') },
      runStore: { markDead: () => Promise.reject(new TypeError('database gone')) },
      events: { status },
      clock: { now: () => new Date(0) },
      log,
      signal: new AbortController().signal,
    });
    await expect(deadLetterer.once('e1', 'why')).rejects.toThrow('database gone');
    expect(status).not.toHaveBeenCalled();
  });
});
