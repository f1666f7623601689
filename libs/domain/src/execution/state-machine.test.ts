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
const legal: [ExecutionStatus, ExecutionEvent, ExecutionStatus][] = [
  ['pending', 'start', 'running'],
  ['pending', 'cancel', 'cancelled'],
  ['pending', 'fail', 'failed'],
  ['running', 'succeed', 'success'],
  ['running', 'fail', 'failed'],
  ['running', 'cancel', 'cancelled'],
  ['failed', 'recover', 'pending'],
];

describe('transition', () => {
  it.each(legal)('moves %s on %s to %s', (from, event, to) => {
    const result = transition(from, event, at, 'because');
    expect(result).toEqual({ ok: true, value: { from, to, at, reason: 'because' } });
  });

  const illegal = EXECUTION_STATUSES.flatMap((from) =>
    EXECUTION_EVENTS.filter((event) => !legal.some(([f, e]) => f === from && e === event)).map(
      (event) => [from, event] as const,
    ),
  );

  it.each(illegal)('rejects %s on %s as ILLEGAL_TRANSITION', (from, event) => {
    const result = transition(from, event, at, 'x');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('ILLEGAL_TRANSITION');
      expect(result.error.kind).toBe('conflict');
    }
  });

  it('covers every status-event pair', () => {
    expect(legal.length + illegal.length).toBe(EXECUTION_STATUSES.length * EXECUTION_EVENTS.length);
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
