import { AsyncLocalStorage } from 'node:async_hooks';
import type { SpanOutcome, TraceSpan, TracingPort } from '../ports.ts';

/** One span a {@link FakeTracing} recorded. */
export interface FakeSpan {
  readonly id: number;
  readonly kind: 'execution' | 'node';
  readonly info: Readonly<Record<string, unknown>>;
  /** The span that was active where this one started (undefined: none). */
  readonly parent: number | undefined;
  outcome?: SpanOutcome;
  /** How many times `end` was called (exactly once is right). */
  ends: number;
}

/** A {@link TracingPort} for tests: records spans, their parents and outcomes. */
export interface FakeTracing extends TracingPort {
  readonly spans: FakeSpan[];
  /** The id of the span active here (undefined: none). */
  active(): number | undefined;
}

/** A {@link FakeTracing}; the active span follows async calls like OpenTelemetry's context. */
export function createFakeTracing(): FakeTracing {
  const spans: FakeSpan[] = [];
  const current = new AsyncLocalStorage<number>();
  const start = (kind: FakeSpan['kind'], info: object): TraceSpan => {
    const span: FakeSpan = {
      id: spans.length + 1,
      kind,
      info: { ...info },
      parent: current.getStore(),
      ends: 0,
    };
    spans.push(span);
    return {
      within: (fn) => current.run(span.id, fn),
      end(outcome) {
        span.outcome = outcome;
        span.ends += 1;
      },
    };
  };
  return {
    spans,
    active: () => current.getStore(),
    startExecution: (info) => start('execution', info),
    startNodeAttempt: (info) => start('node', info),
  };
}
