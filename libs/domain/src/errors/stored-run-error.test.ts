import { describe, expect, it } from 'vitest';
import { storedRunError } from './stored-run-error.ts';
import { MAX_ERROR_MESSAGE_BYTES } from './truncate.ts';

describe('storedRunError', () => {
  it('keeps a well-formed error and null', () => {
    const cause = { type: 'EXECUTION' as const, message: 'HTTP 503', status: 503 };
    const error = { type: 'RETRY_EXHAUSTED' as const, message: 'gave up', cause };
    expect(storedRunError(error)).toEqual(error);
    expect(storedRunError(null)).toBeNull();
  });
  it('turns any other shape into a well-formed error', () => {
    expect(storedRunError('boom')).toEqual({ type: 'UNKNOWN', message: 'boom' });
    expect(storedRunError([1])).toMatchObject({ type: 'UNKNOWN' });
    expect(storedRunError({ type: 'MELTDOWN', message: 'm' })).toEqual({
      type: 'UNKNOWN',
      message: 'm',
    });
    expect(storedRunError({ type: 'TIMEOUT', status: '503', cause: 7 })).toEqual({
      type: 'TIMEOUT',
      message: 'the stored error has no message',
      cause: { type: 'UNKNOWN', message: '7' },
    });
  });
  it('bounds the message and the depth of causes', () => {
    const long = storedRunError({ type: 'TIMEOUT', message: 'y'.repeat(100_000) });
    expect(long?.message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    let deep: unknown = { type: 'TIMEOUT', message: 'root' };
    for (let i = 0; i < 1000; i++) deep = { type: 'RETRY_EXHAUSTED', message: 'm', cause: deep };
    let depth = 0;
    for (let e = storedRunError(deep); e?.cause; e = e.cause) depth++;
    expect(depth).toBe(4);
  });
});
