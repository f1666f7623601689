import {
  costUnits,
  formatMoney,
  redactText,
  type Clock,
  type RateCard,
  type Usage,
} from '@linkflow/domain';
import type { EngineLogger, SpanOutcome, TracingPort } from '../ports.ts';

/*
 * What a node run shows outside its stored result: a span per attempt and pino lines. Kept
 * apart from node-runner.ts so the runner stays about running.
 */

/** How one attempt ended, as far as tracing and logging need it. */
export type ObservedOutcome =
  | { readonly ok: true; readonly usage: Omit<Usage, 'wall_ms'> }
  | { readonly ok: false; readonly error: { readonly type: string; readonly message: string } };

/** The node and attempt being observed, and the run's secret values (read after the attempt). */
export interface AttemptSubject {
  readonly executionId: string;
  /** Bound on the node's pino lines: the logger redacts them with this tenant's held values. */
  readonly tenantId: string;
  readonly nodeId: string;
  readonly nodeType: string;
  readonly attempt: number;
  readonly secrets: { readonly values: readonly string[] };
  readonly signal: AbortSignal;
}

/** What an unrecorded span ends with (nothing reads it). */
const UNRECORDED: SpanOutcome = { status: 'unrecorded' };

/** An attempt's outcome with its start and end. */
export interface TimedAttempt<O> {
  readonly outcome: O;
  readonly begun: Date;
  readonly ended: Date;
}

/** What a span says about an attempt: status, error type and message (redacted), cost. */
export function attemptSpanOutcome(
  outcome: ObservedOutcome,
  subject: Pick<AttemptSubject, 'secrets' | 'signal'>,
  durationMs: number,
  rateCard?: RateCard,
): SpanOutcome {
  const usage: Usage = { wall_ms: durationMs, ...(outcome.ok ? outcome.usage : {}) };
  const costUsd = Number(formatMoney(costUnits(usage, rateCard)));
  if (outcome.ok) return { status: 'success', costUsd };
  const cancelled = subject.signal.aborted || outcome.error.type === 'CANCELLATION';
  return {
    status: cancelled ? 'cancelled' : 'failed',
    errorType: outcome.error.type,
    errorMessage: redactText(outcome.error.message, subject.secrets.values),
    costUsd,
  };
}

/**
 * Runs one attempt inside its own span (when tracing is wired): the span is the active
 * context while the node runs, so the node's http and pg client spans nest under it.
 */
export async function tracedAttempt<O extends ObservedOutcome>(
  deps: {
    readonly tracing?: TracingPort | undefined;
    readonly clock: Clock;
    readonly rateCard?: RateCard | undefined;
  },
  subject: AttemptSubject,
  run: () => Promise<O>,
): Promise<TimedAttempt<O>> {
  const begun = deps.clock.now();
  const span = deps.tracing?.startNodeAttempt({
    executionId: subject.executionId,
    nodeId: subject.nodeId,
    nodeType: subject.nodeType,
    attempt: subject.attempt,
  });
  const outcome = await (span === undefined ? run() : span.within(run));
  const ended = deps.clock.now();
  const durationMs = ended.getTime() - begun.getTime();
  // An unrecorded span (no exporter) ends without its outcome: cost and redaction are skipped.
  if (span?.recording === false) span.end(UNRECORDED);
  else span?.end(attemptSpanOutcome(outcome, subject, durationMs, deps.rateCard));
  return { outcome, begun, ended };
}

function nodeLog(log: EngineLogger, subject: AttemptSubject): EngineLogger {
  return log.child({
    executionId: subject.executionId,
    tenantId: subject.tenantId,
    nodeId: subject.nodeId,
    nodeType: subject.nodeType,
  });
}

/** A pino line for an attempt that failed and will be retried after `delayMs`. */
export function logAttemptFailed(
  log: EngineLogger | undefined,
  subject: AttemptSubject,
  failure: { readonly errorType: string; readonly delayMs: number },
): void {
  if (log === undefined) return;
  nodeLog(log, subject).warn(
    { attempt: subject.attempt, errorType: failure.errorType, delayMs: failure.delayMs },
    'node attempt failed; retrying',
  );
}

/** A pino line for a settled node: debug when it succeeded, warn when not. */
export function logNodeSettled(
  log: EngineLogger | undefined,
  subject: AttemptSubject,
  settled: { readonly status: string; readonly errorType?: string | undefined; durationMs: number },
): void {
  if (log === undefined) return;
  // A child logger per node costs more than the line: skip it when the line is not written.
  if (settled.status === 'success' && log.isLevelEnabled?.('debug') === false) return;
  const fields = {
    status: settled.status,
    attempts: subject.attempt,
    durationMs: settled.durationMs,
    ...(settled.errorType === undefined ? {} : { errorType: settled.errorType }),
  };
  const child = nodeLog(log, subject);
  if (settled.status === 'success') child.debug(fields, 'node finished');
  else child.warn(fields, 'node finished without success');
}
