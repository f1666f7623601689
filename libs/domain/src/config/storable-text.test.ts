import { describe, expect, it } from 'vitest';
import {
  findUnstorableText,
  jsonHasUnstorableText,
  textIsUnstorable,
  toStorableJsonText,
  toStorableText,
} from './storable-text.ts';

describe('jsonHasUnstorableText', () => {
  it('finds NUL and lone surrogates in JSON.stringify output', () => {
    expect(jsonHasUnstorableText(JSON.stringify({ a: 'x\u0000y' }))).toBe(true);
    expect(jsonHasUnstorableText(JSON.stringify({ a: 'x\ud800y' }))).toBe(true);
    expect(jsonHasUnstorableText(JSON.stringify({ a: 'x\udc00' }))).toBe(true);
    expect(jsonHasUnstorableText(JSON.stringify({ 'k\udfff': 1 }))).toBe(true);
    expect(jsonHasUnstorableText(JSON.stringify(['\\\ud800']))).toBe(true);
  });

  it('finds them as hand-written escapes and raw characters', () => {
    expect(jsonHasUnstorableText('"\\uD800"')).toBe(true);
    expect(jsonHasUnstorableText('"\\udc00x"')).toBe(true);
    expect(jsonHasUnstorableText('"\ud800"')).toBe(true);
  });

  it('accepts pairs, escaped backslashes and plain text', () => {
    expect(jsonHasUnstorableText(JSON.stringify({ a: '😀 \ud83d\ude00' }))).toBe(false);
    expect(jsonHasUnstorableText('"\\ud83d\\ude00"')).toBe(false);
    expect(jsonHasUnstorableText(JSON.stringify({ e: '"a\\ud800b\\u0000"' }))).toBe(false);
    expect(jsonHasUnstorableText(JSON.stringify('plain'))).toBe(false);
  });
});

describe('findUnstorableText', () => {
  it('names the first offending value or key as a JSON pointer', () => {
    expect(findUnstorableText({ a: [1, { b: 'x\ud800' }] })).toBe('/a/1/b');
    expect(findUnstorableText({ ok: 'y', 'k/\u0000': 1 })).toBe('/k~1\u0000');
    expect(findUnstorableText('\udc00')).toBe('/');
    expect(findUnstorableText({ a: '😀', b: [null, 2] })).toBeUndefined();
  });

  it('walks very deep values without recursion', () => {
    let deep: unknown = 'a\u0000';
    for (let i = 0; i < 10_000; i += 1) deep = [deep];
    expect(findUnstorableText(deep)).toMatch(/^(\/0){10000}$/);
  });
});

describe('toStorableText', () => {
  it('drops NUL and replaces lone surrogates, keeping pairs', () => {
    expect(toStorableText('a\u0000b\ud800c\udc00😀')).toBe('ab\ufffdc\ufffd😀');
    expect(textIsUnstorable(toStorableText('\ud800\u0000'))).toBe(false);
  });
});

describe('toStorableJsonText', () => {
  it('turns escaped NULs and lone surrogates into \\ufffd and leaves pairs and escaped backslashes', () => {
    const json = JSON.stringify(['a\u0000b', 'c\ud800d', 'e\udc00', '😀', 'f\\u0000g']);
    const out = toStorableJsonText(json);
    expect(JSON.parse(out)).toEqual(['a\ufffdb', 'c\ufffdd', 'e\ufffd', '😀', 'f\\u0000g']);
    expect(jsonHasUnstorableText(out)).toBe(false);
  });

  it('returns clean text unchanged (the same string)', () => {
    const json = JSON.stringify({ a: 'plain', b: '\\u0041' });
    expect(toStorableJsonText(json)).toBe(json);
  });
});
