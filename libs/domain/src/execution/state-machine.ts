import { domainErrors } from '../errors/domain-errors.ts';
import type { AppError } from '../errors/app-error.ts';
import { err, ok, type Result } from '../result.ts';

export const EXECUTION_STATUSES = ['pending', 'running', 'success', 'failed', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const EXECUTION_EVENTS = ['start', 'succeed', 'fail', 'cancel', 'recover'] as const;
export type ExecutionEvent = (typeof EXECUTION_EVENTS)[number];

/**
 * The execution state machine as data. `recover` puts a failed execution back to
 * pending so it resumes from its checkpoints.
 */
const NEXT: Readonly<Record<ExecutionStatus, Partial<Record<ExecutionEvent, ExecutionStatus>>>> = {
  pending: { start: 'running', cancel: 'cancelled', fail: 'failed' },
  running: { succeed: 'success', fail: 'failed', cancel: 'cancelled' },
  success: {},
  failed: { recover: 'pending' },
  cancelled: {},
};

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
  return NEXT[from][event];
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
  return EXECUTION_STATUSES.filter((s) => NEXT[s][event] !== undefined);
}
