import { describe, expect, it } from 'vitest';
import {
  CANCEL_CHANNEL,
  decodeCancelSignal,
  decodeExecutionEvent,
  decodeExecutionEvents,
  executionEventsChannel,
} from './channels.ts';

describe('channel names', () => {
  it('scopes events per execution and shares one cancel channel', () => {
    expect(executionEventsChannel('e1')).toBe('linkflow:exec:e1:events');
    expect(CANCEL_CHANNEL).toBe('linkflow:cancel');
  });
});

describe('decodeExecutionEvent', () => {
  it('decodes a node status event', () => {
    const event = {
      kind: 'status',
      status: 'running',
      node_id: 'fetch',
      at: '2026-01-01T00:00:00.000Z',
    };

    expect(decodeExecutionEvent(JSON.stringify(event))).toEqual({ ok: true, value: event });
  });

  it('decodes a log event', () => {
    const entry = {
      seq: 1,
      at: '2026-01-01T00:00:00.000Z',
      level: 'info',
      node_id: null,
      message: 'started',
      data: null,
    };

    expect(decodeExecutionEvent(JSON.stringify({ kind: 'log', entry }))).toEqual({
      ok: true,
      value: { kind: 'log', entry },
    });
  });

  it('reports bad JSON as a value instead of throwing', () => {
    const result = decodeExecutionEvent('{nope', 'linkflow:exec:e1:events');

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('INVALID_CHANNEL_MESSAGE');
  });

  it('reports an unknown kind or status', () => {
    expect(
      decodeExecutionEvent(JSON.stringify({ kind: 'status', status: 'exploded', at: 'x' })).ok,
    ).toBe(false);
    expect(decodeExecutionEvent(JSON.stringify({ kind: 'other' })).ok).toBe(false);
  });
});

describe('decodeCancelSignal', () => {
  it('decodes a signal and rejects one without an execution id', () => {
    expect(decodeCancelSignal('{"execution_id":"e1"}')).toEqual({
      ok: true,
      value: { execution_id: 'e1' },
    });
    expect(decodeCancelSignal('{}').ok).toBe(false);
    expect(decodeCancelSignal('null').ok).toBe(false);
  });
});

describe('decodeExecutionEvents', () => {
  const status = { kind: 'status', status: 'running', at: '2026-01-01T00:00:00.000Z' };
  const log = {
    kind: 'log',
    entry: { seq: 1, at: status.at, level: 'info', node_id: 'a', message: 'm', data: null },
  };

  it('reads a single event as a batch of one', () => {
    expect(decodeExecutionEvents(JSON.stringify(status))).toEqual({ ok: true, value: [status] });
  });

  it('reads a batch in its order', () => {
    expect(decodeExecutionEvents(JSON.stringify([log, status]))).toEqual({
      ok: true,
      value: [log, status],
    });
  });

  it('refuses an empty batch and a batch with one bad event', () => {
    expect(decodeExecutionEvents('[]').ok).toBe(false);
    expect(decodeExecutionEvents(JSON.stringify([status, { kind: 'other' }])).ok).toBe(false);
    expect(decodeExecutionEvents('[nope').ok).toBe(false);
  });
});
