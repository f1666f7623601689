import { afterEach, describe, expect, it } from 'vitest';
import type { BreakerBoard, BreakerEntry } from './breaker-board.ts';
import {
  startBreakerPublisher,
  toEntries,
  type BreakerPublisher,
  type BreakerSnapshot,
} from './breaker-publisher.ts';
import type { QueueLogger } from './queue-log.ts';

/** An in-memory board recording each write; `fail` makes the next writes reject. */
function recordingBoard() {
  const writes: { executor: string; entries: readonly BreakerEntry[]; ttlMs: number }[] = [];
  const removed: string[] = [];
  let fail = false;
  let gate = false;
  let release: (() => void) | undefined;
  const board: BreakerBoard = {
    async publish(executor, entries, ttlMs) {
      if (release === undefined && gate) await new Promise<void>((r) => (release = r));
      if (fail) throw new TypeError('redis is gone');
      writes.push({ executor, entries, ttlMs });
    },
    remove: (executor) => Promise.resolve(void removed.push(executor)),
    list: () => Promise.resolve([]),
  };
  return {
    board,
    writes,
    removed,
    setFail: (v: boolean) => (fail = v),
    hold: () => (gate = true),
    open: () => {
      gate = false;
      release?.();
    },
  };
}

const quiet = () => {};
const log: QueueLogger = { debug: quiet, info: quiet, warn: quiet, error: quiet };
let states: BreakerSnapshot[] = [];
let publisher: BreakerPublisher | undefined;
afterEach(async () => {
  await publisher?.stop();
  publisher = undefined;
  states = [];
});

const snap = (target: string, state: BreakerSnapshot['state']): BreakerSnapshot => ({
  tenantId: 'tn-1',
  target,
  state,
  failures: state === 'open' ? 5 : 0,
  lastChangeAt: Date.UTC(2026, 0, 2, 3, 4, 5),
});

describe('breaker publisher', () => {
  it('maps snapshots to board entries with an ISO timestamp and the executor id', () => {
    expect(toEntries('ex-1', [snap('a:80', 'open')])).toEqual([
      {
        target: 'a:80',
        tenant_id: 'tn-1',
        state: 'open',
        failures: 5,
        last_change_at: '2026-01-02T03:04:05.000Z',
        executor: 'ex-1',
      },
    ]);
  });

  it('publishes at start and after a change, with a TTL of three heartbeats', async () => {
    const rec = recordingBoard();
    publisher = startBreakerPublisher({
      board: rec.board,
      id: 'ex-1',
      snapshot: () => states,
      intervalMs: 60_000,
      log,
    });
    await expect.poll(() => rec.writes.length, { timeout: 2_000 }).toBe(1);
    expect(rec.writes[0]).toEqual({ executor: 'ex-1', entries: [], ttlMs: 180_000 });
    states = [snap('a:80', 'open')];
    publisher.changed();
    await expect.poll(() => rec.writes.length, { timeout: 2_000 }).toBe(2);
    expect(rec.writes[1]?.entries.map((e) => [e.target, e.state])).toEqual([['a:80', 'open']]);
    await publisher.stop();
    publisher = undefined;
    expect(rec.removed).toEqual(['ex-1']);
  });

  it('coalesces changes during a write into one more write of the latest states', async () => {
    const rec = recordingBoard();
    rec.hold();
    publisher = startBreakerPublisher({
      board: rec.board,
      id: 'ex-1',
      snapshot: () => states,
      intervalMs: 60_000,
      log,
    });
    states = [snap('a:80', 'open')];
    publisher.changed();
    states = [snap('a:80', 'half_open')];
    publisher.changed();
    rec.open();
    await expect.poll(() => rec.writes.length, { timeout: 2_000 }).toBe(2);
    expect(rec.writes[1]?.entries[0]?.state).toBe('half_open');
  });

  it('survives a failed write (Redis down) and writes the whole state at the next change', async () => {
    const rec = recordingBoard();
    rec.setFail(true);
    states = [snap('a:80', 'open')];
    publisher = startBreakerPublisher({
      board: rec.board,
      id: 'ex-1',
      snapshot: () => states,
      intervalMs: 60_000,
      log,
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(rec.writes).toEqual([]);
    rec.setFail(false);
    publisher.changed();
    await expect.poll(() => rec.writes.length, { timeout: 2_000 }).toBe(1);
    expect(rec.writes[0]?.entries).toHaveLength(1);
  });

  it('publishes again at each heartbeat', async () => {
    const rec = recordingBoard();
    publisher = startBreakerPublisher({
      board: rec.board,
      id: 'ex-1',
      snapshot: () => states,
      intervalMs: 100,
      log,
    });
    await expect.poll(() => rec.writes.length, { timeout: 3_000 }).toBeGreaterThanOrEqual(3);
  });
});
