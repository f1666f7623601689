import { describe, expect, it } from 'vitest';
import {
  compileConfig,
  MAX_TEMPLATE_SOURCE_CHARS,
  MAX_TEMPLATES_PER_CONFIG,
  MAX_TEMPLATES_PER_STRING,
} from './compiled-config.ts';
import type { EvaluateOptions } from './evaluation-guard.ts';
import { compileExpression } from './expression.ts';

async function evaluate(source: string, options?: EvaluateOptions) {
  const compiled = compileExpression(source);
  if (!compiled.ok) throw new TypeError(compiled.error);
  return compiled.value.evaluate({}, options);
}

const templates = (n: number) => 'http://x/' + '{{1}}'.repeat(n);
/** 10,000 items and logical nodes at most, 40,000 items through path steps. */
const SMALL = { maxValueBytes: 20_000 };
/** Doubles a value n times, each level referencing the previous one twice. */
const DOUBLING = '$d := function($v,$n){ $n = 0 ? $v : $d({"a":$v,"b":$v}, $n-1) }';

describe('template limits', () => {
  it('accepts the most templates one string may hold', () => {
    expect(compileConfig({ url: templates(MAX_TEMPLATES_PER_STRING) }, []).ok).toBe(true);
  });

  it('refuses a string with too many templates, naming its path', () => {
    const result = compileConfig({ url: templates(MAX_TEMPLATES_PER_STRING + 1) }, [], '/n/0');
    expect(result.ok ? undefined : result.error).toEqual([
      { path: '/n/0/url', message: 'string has more than 64 {{ }} templates' },
    ]);
  });

  it('refuses a config with too many templates across its strings, once', () => {
    const headers = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`h${i}`, templates(MAX_TEMPLATES_PER_STRING)]),
    );
    const result = compileConfig({ headers }, []);
    expect(result.ok ? undefined : result.error).toEqual([
      {
        path: '/config',
        message: `config has more than ${MAX_TEMPLATES_PER_CONFIG} {{ }} templates`,
      },
    ]);
  });

  it('refuses a config whose template source is too long', () => {
    const long = `{{ "${'x'.repeat(MAX_TEMPLATE_SOURCE_CHARS)}" }}`;
    const result = compileConfig({ body: long }, []);
    expect(result.ok ? undefined : result.error[0]?.path).toBe('/config');
  });

  it('still compiles and renders templates that share the capped built-ins', async () => {
    const compiled = compileConfig(
      { a: '{{ $pad("x", 3, "-") }}', b: 'n={{ $count([1,2]) }}' },
      [],
    );
    if (!compiled.ok) throw new TypeError('does not compile');
    expect(await compiled.value.render({})).toEqual({ ok: true, value: { a: 'x--', b: 'n=2' } });
  });
});

describe('values with shared parts', () => {
  it('refuses a doubled value before = walks it', async () => {
    const source = `(${DOUBLING}; $x := $d(1, 14); $y := $d(1, 14); $x = $y)`;
    const result = await evaluate(source, SMALL);
    expect(result.ok ? undefined : result.error).toEqual({
      reason: 'limit',
      message:
        'expression built a value of 16383 nodes (shared parts counted each time), over the 10000-node limit',
    });
  });

  it('refuses a doubled value before ** or $distinct walk it', async () => {
    for (const use of ['$count($d(1, 14).**)', '$count($distinct([$d(1, 14), 1]))']) {
      const result = await evaluate(`(${DOUBLING}; ${use})`, SMALL);
      expect(result.ok ? undefined : result.error.message).toMatch(/over the 10000-node limit/);
    }
  });

  it('keeps shared values within the limit working', async () => {
    const source = `(${DOUBLING}; $x := $d(1, 8); $count($distinct([$x, $d(1, 8), 1])) & ($x = $d(1, 8)))`;
    expect(await evaluate(source, SMALL)).toEqual({ ok: true, value: '2true' });
  });

  it('stops path steps that map an array over itself', async () => {
    const result = await evaluate('($a := [1..1000]; $count($a.$a))', SMALL);
    expect(result.ok ? undefined : result.error).toEqual({
      reason: 'limit',
      message: "expression's path steps produced more than 40000 items",
    });
  });
});

describe('$eval limits', () => {
  it('stops recursion through $eval at the nesting limit', async () => {
    const source = '($f := function($n){$n > 0 ? $eval("$f(" & ($n-1) & ")") : 0}; $f(100))';
    const result = await evaluate(source);
    expect(result.ok ? undefined : result.error).toEqual({
      reason: 'limit',
      message: '$eval nested more than 16 deep',
    });
  });

  it('bounds the distinct sources $eval parses in one evaluation', async () => {
    const result = await evaluate('$sum($map([1..300], function($i){ $eval($string($i)) }))');
    expect(result.ok ? undefined : result.error.message).toBe(
      '$eval of more than 256 different sources',
    );
    expect(await evaluate('$sum($map([1..300], function($i){ $eval("1") }))')).toEqual({
      ok: true,
      value: 300,
    });
  });
});
