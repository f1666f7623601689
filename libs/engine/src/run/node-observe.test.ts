import { describe, expect, it } from 'vitest';
import type { SpanOutcome, TracingPort } from '../ports.ts';
import { tracedAttempt } from './node-observe.ts';

function tracingThatRecords(recording: boolean, ended: SpanOutcome[]): TracingPort {
  const span = {
    within: <T>(fn: () => T) => fn(),
    end: (outcome: SpanOutcome) => void ended.push(outcome),
    recording,
  };
  return { startExecution: () => span, startNodeAttempt: () => span };
}

const subject = {
  executionId: 'e',
  tenantId: 't',
  nodeId: 'n',
  nodeType: 'transform',
  attempt: 1,
  secrets: { values: [] },
  signal: new AbortController().signal,
};
const failing = () =>
  Promise.resolve({ ok: false as const, error: { type: 'X', message: 'boom' } });

describe('tracedAttempt', () => {
  it('ends a recorded span with the attempt’s status, error and cost', async () => {
    const ended: SpanOutcome[] = [];
    const clock = { now: () => new Date() };
    await tracedAttempt({ tracing: tracingThatRecords(true, ended), clock }, subject, failing);
    expect(ended).toEqual([
      expect.objectContaining({ status: 'failed', errorType: 'X', errorMessage: 'boom' }),
    ]);
  });

  it('ends an unrecorded span without computing its outcome', async () => {
    const ended: SpanOutcome[] = [];
    const clock = { now: () => new Date() };
    await tracedAttempt({ tracing: tracingThatRecords(false, ended), clock }, subject, failing);
    expect(ended).toEqual([{ status: 'unrecorded' }]);
  });
});
