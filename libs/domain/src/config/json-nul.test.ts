import { describe, expect, it } from 'vitest';
import { jsonHasNul } from './json-nul.ts';

describe('jsonHasNul', () => {
  it('finds an encoded NUL character', () => {
    expect(jsonHasNul(JSON.stringify({ a: 'x\u0000y' }))).toBe(true);
    expect(jsonHasNul(JSON.stringify('\u0000'))).toBe(true);
    expect(jsonHasNul(JSON.stringify(['\\\u0000']))).toBe(true);
  });
  it('ignores an escaped backslash followed by u0000 text', () => {
    expect(jsonHasNul(JSON.stringify({ expression: '"a\\u0000b"' }))).toBe(false);
    expect(jsonHasNul(JSON.stringify('plain'))).toBe(false);
  });
});
