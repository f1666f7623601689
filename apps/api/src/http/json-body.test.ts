import { describe, expect, it } from 'vitest';
import { tooDeepPath } from './json-body.ts';

/** `depth` nested arrays around `leaf`. */
function nest(depth: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

describe('tooDeepPath', () => {
  it('accepts scalars and values at the maximum depth', () => {
    expect(tooDeepPath(42, 3)).toBeUndefined();
    expect(tooDeepPath({ a: { b: { c: 1 } } }, 3)).toBeUndefined();
    expect(tooDeepPath(nest(3), 3)).toBeUndefined();
  });

  it('names the top-level member that nests too deep', () => {
    expect(tooDeepPath({ ok: [1], 'a/b': { c: { d: {} } } }, 3)).toBe('/a~1b');
    expect(tooDeepPath([1, [[[]]]], 3)).toBe('/1');
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    expect(tooDeepPath({ input_data: nest(100_000) }, 64)).toBe('/input_data');
  });
});
