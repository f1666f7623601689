import { describe, expect, it } from 'vitest';
import { AppError, toAppError } from './app-error.ts';
import {
  capLogData,
  MAX_ERROR_MESSAGE_BYTES,
  truncateRunError,
  truncateText,
  utf8Length,
} from './truncate.ts';

const bytes = (text: string) => new TextEncoder().encode(text).length;

describe('utf8Length', () => {
  it('counts UTF-8 bytes like an encoder, lone surrogates as U+FFFD', () => {
    for (const text of ['', 'abc', 'é', '€', '😀', 'a😀b€é', '\ud800x', 'x\udc00', '\ud800'])
      expect(utf8Length(text)).toBe(bytes(text));
  });
});

describe('truncateText', () => {
  it('keeps a text that fits', () => {
    const text = 'x'.repeat(MAX_ERROR_MESSAGE_BYTES);
    expect(truncateText(text)).toBe(text);
    expect(truncateText('short')).toBe('short');
  });

  it('cuts a 50 MB text to 8 KiB with a note giving its size', () => {
    const out = truncateText('x'.repeat(50_000_000));
    expect(bytes(out)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(out).toMatch(/^x+… \[truncated, 50000000 bytes\]$/);
  });

  it('counts multi-byte characters and never splits a surrogate pair', () => {
    const out = truncateText('😀'.repeat(100), 101);
    expect(bytes(out)).toBeLessThanOrEqual(101);
    expect(out).toMatch(/^(😀)+… \[truncated, 400 bytes\]$/);
    expect(out).not.toContain('\ufffd');
  });
});

describe('truncateRunError', () => {
  it('truncates the message and every cause, and returns a small error unchanged', () => {
    const small = { type: 'EXECUTION' as const, message: 'boom' };
    expect(truncateRunError(small)).toBe(small);
    const huge = 'y'.repeat(100_000);
    const out = truncateRunError({
      type: 'RETRY_EXHAUSTED',
      message: `gave up: ${huge}`,
      node_id: 'n',
      cause: { type: 'EXECUTION', message: huge, status: 503 },
    });
    expect(bytes(out.message)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(bytes(out.cause?.message ?? '')).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(out).toMatchObject({ node_id: 'n', cause: { status: 503 } });
  });
});

describe('capLogData', () => {
  it('keeps data that fits and replaces larger data with a note naming its size and keys', () => {
    const small = { a: 1 };
    expect(capLogData(small, JSON.stringify(small))).toBe(small);
    const big = { rows: 'z'.repeat(70_000), n: 1 };
    const out = capLogData(big, JSON.stringify(big));
    expect(out).toEqual({
      truncated: expect.stringContaining('70017 bytes') as string,
      keys: ['rows', 'n'],
    });
    expect(capLogData(big, JSON.stringify(big), 100_000)).toBe(big);
  });
});

describe('AppError', () => {
  it('truncates its message where it is made, for every subclass and toAppError', () => {
    const huge = 'x'.repeat(5_000_000);
    const made = new AppError('BOOM', huge, { kind: 'internal' });
    expect(bytes(made.message)).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_BYTES);
    expect(made.message).toContain('[truncated, 5000000 bytes]');
    expect(bytes(toAppError(new RangeError(huge)).message)).toBeLessThanOrEqual(
      MAX_ERROR_MESSAGE_BYTES,
    );
  });
});
