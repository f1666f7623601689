import { describe, expect, it } from 'vitest';
import { AppError } from './app-error.ts';
import { isBeneathSql } from './driver-errors.ts';

describe('isBeneathSql', () => {
  it('recognises system errors and plain driver errors by class, whatever they say', () => {
    expect(isBeneathSql(Object.assign(new Error('x'), { syscall: 'connect' }))).toBe(true);
    expect(isBeneathSql(new Error('anything at all'))).toBe(true);
  });

  it('never takes our own errors, programming errors or non-errors for connection failures', () => {
    expect(isBeneathSql(new AppError('X', 'Connection terminated', { kind: 'internal' }))).toBe(
      false,
    );
    expect(isBeneathSql(new TypeError('Connection terminated'))).toBe(false);
    expect(isBeneathSql('Connection terminated')).toBe(false);
    expect(isBeneathSql(null)).toBe(false);
  });
});
