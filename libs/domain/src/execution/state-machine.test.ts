import { describe, expect, it } from 'vitest';
import {
  ACTIVE_STATUSES,
  CANCELLED_STATUS,
  CLAIMABLE_STATUSES,
  CLAIMED_STATUS,
  EXECUTION_EVENTS,
  EXECUTION_STATUSES,
  FAILED_STATUS,
  INITIAL_STATUS,
  isTerminal,
  nextStatus,
  statusesAllowing,
  transition,
  type ExecutionEvent,
  type ExecutionStatus,
} from './state-machine.ts';

const at = new Date('2026-01-01T00:00:00Z');

/**
 * Every (status, event) pair with the status it leads to, or 'illegal'. Written out by hand
 * from the contract, not derived from the implementation, so a changed transition fails here.
 */
const TABLE: [ExecutionStatus, ExecutionEvent, ExecutionStatus | 'illegal'][] = [
  ['pending', 'start', 'running'],
  ['pending', 'succeed', 'illegal'],
  ['pending', 'fail', 'failed'],
  ['pending', 'cancel', 'cancelled'],
  ['pending', 'recover', 'illegal'],
  ['running', 'start', 'illegal'],
  ['running', 'succeed', 'success'],
  ['running', 'fail', 'failed'],
  ['running', 'cancel', 'cancelled'],
  ['running', 'recover', 'pending'],
  ['success', 'start', 'illegal'],
  ['success', 'succeed', 'illegal'],
  ['success', 'fail', 'illegal'],
  ['success', 'cancel', 'illegal'],
  ['success', 'recover', 'illegal'],
  ['failed', 'start', 'illegal'],
  ['failed', 'succeed', 'illegal'],
  ['failed', 'fail', 'illegal'],
  ['failed', 'cancel', 'illegal'],
  ['failed', 'recover', 'pending'],
  ['cancelled', 'start', 'illegal'],
  ['cancelled', 'succeed', 'illegal'],
  ['cancelled', 'fail', 'illegal'],
  ['cancelled', 'cancel', 'illegal'],
  ['cancelled', 'recover', 'illegal'],
];
const legal = TABLE.filter(
  (row): row is [ExecutionStatus, ExecutionEvent, ExecutionStatus] => row[2] !== 'illegal',
);
const illegal = TABLE.filter(([, , to]) => to === 'illegal').map(
  ([from, event]) => [from, event] as const,
);

describe('transition', () => {
  it('lists every status-event pair exactly once', () => {
    const pairs = TABLE.map(([from, event]) => `${from}/${event}`);
    const all = EXECUTION_STATUSES.flatMap((s) => EXECUTION_EVENTS.map((e) => `${s}/${e}`));
    expect([...pairs].sort()).toEqual([...all].sort());
  });

  it.each(legal)('moves %s on %s to %s', (from, event, to) => {
    const result = transition(from, event, at, 'because');
    expect(result).toEqual({ ok: true, value: { from, to, at, reason: 'because' } });
    expect(nextStatus(from, event)).toBe(to);
  });

  it.each(illegal)('rejects %s on %s as ILLEGAL_TRANSITION', (from, event) => {
    const result = transition(from, event, at, 'x');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('ILLEGAL_TRANSITION');
      expect(result.error.kind).toBe('conflict');
    }
    expect(nextStatus(from, event)).toBeUndefined();
  });
});

describe('isTerminal', () => {
  it('marks success, failed and cancelled terminal', () => {
    expect(EXECUTION_STATUSES.filter(isTerminal)).toEqual(['success', 'failed', 'cancelled']);
  });
});

describe('statusesAllowing', () => {
  it('lists the statuses a cancel may leave', () => {
    expect(statusesAllowing('cancel')).toEqual(['pending', 'running']);
  });

  it.each(EXECUTION_EVENTS)('lists the statuses the table allows %s from', (event) => {
    const from = TABLE.filter(([, e, to]) => e === event && to !== 'illegal').map(([s]) => s);
    expect(statusesAllowing(event)).toEqual(from);
  });
});

describe('named statuses for fenced writes', () => {
  it('claims take an execution from pending or claimed, and claimed is where start leads', () => {
    expect(CLAIMED_STATUS).toBe(nextStatus(INITIAL_STATUS, 'start'));
    expect(CLAIMABLE_STATUSES).toEqual(['pending', 'running']);
  });

  it('lists the non-terminal statuses as active', () => {
    expect(ACTIVE_STATUSES).toEqual(EXECUTION_STATUSES.filter((s) => !isTerminal(s)));
  });

  it('finishes a claimed execution with succeed or fail only', () => {
    expect(statusesAllowing('succeed')).toEqual([CLAIMED_STATUS]);
    expect(nextStatus(CLAIMED_STATUS, 'fail')).toBe(FAILED_STATUS);
    expect(nextStatus(CLAIMED_STATUS, 'cancel')).toBe(CANCELLED_STATUS);
  });
});
