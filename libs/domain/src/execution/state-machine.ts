import { domainErrors } from '../errors/domain-errors.ts';
import type { AppError } from '../errors/app-error.ts';
import { err, ok, type Result } from '../result.ts';

export const EXECUTION_STATUSES = ['pending', 'running', 'success', 'failed', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const EXECUTION_EVENTS = ['start', 'succeed', 'fail', 'cancel', 'recover'] as const;
export type ExecutionEvent = (typeof EXECUTION_EVENTS)[number];

type TransitionTable = Readonly<
  Record<ExecutionStatus, Partial<Record<ExecutionEvent, ExecutionStatus>>>
>;

/**
 * The execution state machine as data. `recover` puts a failed execution, or a running one
 * whose holder is gone (no live lease: the store checks that), back to pending so it
 * resumes from its checkpoints.
 */
const NEXT = {
  pending: { start: 'running', cancel: 'cancelled', fail: 'failed' },
  running: { succeed: 'success', fail: 'failed', cancel: 'cancelled', recover: 'pending' },
  success: {},
  failed: { recover: 'pending' },
  cancelled: {},
} as const satisfies TransitionTable;
const TABLE: TransitionTable = NEXT;

/** One stored state change. */
export interface Transition {
  readonly from: ExecutionStatus | null;
  readonly to: ExecutionStatus;
  readonly at: Date;
  readonly reason: string;
}

const TERMINAL: ReadonlySet<ExecutionStatus> = new Set(['success', 'failed', 'cancelled']);

export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL.has(status);
}

/** The status `event` leads to from `from`, or undefined when illegal. */
export function nextStatus(
  from: ExecutionStatus,
  event: ExecutionEvent,
): ExecutionStatus | undefined {
  return TABLE[from][event];
}

/** Applies `event` to an execution in `from`; illegal moves come back as ILLEGAL_TRANSITION. */
export function transition(
  from: ExecutionStatus,
  event: ExecutionEvent,
  at: Date,
  reason: string,
): Result<Transition, AppError> {
  const to = nextStatus(from, event);
  if (to === undefined) return err(domainErrors.illegalTransition(from, event));
  return ok({ from, to, at, reason });
}

/** Statuses from which `event` is legal (used to build fenced `WHERE status IN (...)` updates). */
export function statusesAllowing(event: ExecutionEvent): ExecutionStatus[] {
  return EXECUTION_STATUSES.filter((s) => TABLE[s][event] !== undefined);
}

/*
 * Named statuses for fenced writes. The store builds its SQL guards from these (never from
 * status literals), so a change to the machine above changes what the database allows.
 */

/** The status a new execution is created in. */
export const INITIAL_STATUS = 'pending' satisfies ExecutionStatus;

/**
 * The status of an execution a worker holds: where `start` leads. A claim moves a pending
 * execution here (or re-takes one already here); node writes, lease renewal and the final
 * write are fenced on it.
 */
export const CLAIMED_STATUS = NEXT.pending.start;

/** Where `recover` leads: the execution waits to be claimed again. */
export const RECOVERED_STATUS = NEXT.failed.recover;

/** Where `cancel` leads (from any {@link ACTIVE_STATUSES}). */
export const CANCELLED_STATUS = NEXT.running.cancel;

/** Where `fail` leads (a dead-lettered execution ends here). */
export const FAILED_STATUS = NEXT.running.fail;

/**
 * Statuses an execution is still in progress in (`cancel` is legal from each): claims,
 * cancels, timeout changes, the sweeper and deleting a workflow look at these only.
 */
export const ACTIVE_STATUSES: readonly ExecutionStatus[] = statusesAllowing('cancel');

/** Statuses a claim takes an execution from: `start`, or a re-take of a claimed one. */
export const CLAIMABLE_STATUSES: readonly ExecutionStatus[] = [
  ...statusesAllowing('start'),
  CLAIMED_STATUS,
];
