import { describe, expect, it } from 'vitest';
import { reservedIdempotencyPrefix } from './idempotency-keys.ts';

describe('reservedIdempotencyPrefix', () => {
  it('names the reserved prefix a key starts with', () => {
    expect(reservedIdempotencyPrefix('on-error:0193')).toBe('on-error:');
    expect(reservedIdempotencyPrefix('sub:p:n')).toBe('sub:');
  });

  it('leaves client keys alone, including ones that only contain a prefix', () => {
    expect(reservedIdempotencyPrefix('order-42')).toBeUndefined();
    expect(reservedIdempotencyPrefix('x-on-error:1')).toBeUndefined();
    expect(reservedIdempotencyPrefix('ON-ERROR:1')).toBeUndefined();
  });
});
