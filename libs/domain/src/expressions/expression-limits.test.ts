import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { compileConfig } from './compiled-config.ts';
import type { EvaluateOptions } from './evaluation-guard.ts';
import { compileExpression } from './expression.ts';
import { jsonBytesAtLeast } from './json-size.ts';

/** A clock that advances 1 ms each time it is read: time passes with work done. */
function steppingClock(): () => number {
  let t = 0;
  return () => ++t;
}

async function evaluate(source: string, options?: EvaluateOptions, context: unknown = {}) {
  const compiled = compileExpression(source);
  if (!compiled.ok) throw new TypeError(compiled.error);
  return compiled.value.evaluate(context, options);
}

const HUNDRED = 'x'.repeat(100);

describe('expression time limits', () => {
  it('stops endless tail recursion at the ceiling', async () => {
    const result = await evaluate('($f := function($n){$f($n+1)}; $f(0))', {
      now: steppingClock(),
      maxMs: 200,
    });
    expect(result).toEqual({
      ok: false,
      error: { reason: 'timeout', message: 'expression evaluation exceeded the 200 ms limit' },
    });
  });

  it("stops at the node's deadline when it comes before the ceiling", async () => {
    const result = await evaluate('($f := function($n){$f($n+1)}; $f(0))', {
      now: steppingClock(),
      deadline: 50,
      maxMs: 1000,
    });
    expect(result.ok ? undefined : result.error).toEqual({
      reason: 'deadline',
      message: "expression evaluation ran past its node's deadline",
    });
  });

  it('stops a million-step string build in time', async () => {
    const source = `$join($map([1..1e6], function($v){"${HUNDRED}"}))`;
    const result = await evaluate(source, { now: steppingClock(), maxMs: 500 });
    expect(result.ok ? undefined : result.error.reason).toBe('timeout');
  });

  it('stops when the signal aborts, at the next step', async () => {
    const signal = { aborted: false };
    let reads = 0;
    const now = () => {
      if (++reads === 100) signal.aborted = true;
      return 0;
    };
    const result = await evaluate('($f := function($n){$f($n+1)}; $f(0))', { now, signal });
    expect(result).toEqual({
      ok: false,
      error: { reason: 'aborted', message: 'expression aborted' },
    });
  });

  it('fails at once when the signal is already aborted', async () => {
    const result = await evaluate('1 + 1', { signal: { aborted: true } });
    expect(result.ok ? undefined : result.error.reason).toBe('aborted');
  });

  it('gives the event loop a turn every yieldEveryMs', async () => {
    let turns = 0;
    const result = await evaluate('$sum($map([1..300], function($v){$v}))', {
      now: steppingClock(),
      yieldEveryMs: 10,
      yieldToLoop: () => {
        turns++;
        return Promise.resolve();
      },
    });
    expect(result).toEqual({ ok: true, value: 45150 });
    expect(turns).toBeGreaterThan(20);
  });

  it('keeps a timeout raised inside $eval', async () => {
    const result = await evaluate('$eval("($f := function($n){$f($n+1)}; $f(0))")', {
      now: steppingClock(),
      maxMs: 100,
    });
    expect(result.ok ? undefined : result.error.reason).toBe('timeout');
  });
});

describe('expression size and depth limits', () => {
  it('stops deep recursion with a depth limit', async () => {
    const result = await evaluate('($f := function($n){1 + $f($n+1)}; $f(0))');
    expect(result.ok ? undefined : result.error).toMatchObject({
      reason: 'limit',
      message: expect.stringContaining('D1011'),
    });
  });

  it('refuses $pad past the value cap before building it', async () => {
    const result = await evaluate('$pad("", 1e8, "x")');
    expect(result.ok ? undefined : result.error).toEqual({
      reason: 'limit',
      message: '$pad to width 100000000 would be over the 10485760-byte limit',
    });
  });

  it('refuses a $join over the value cap', async () => {
    const source = `$join($map([1..1000], function($v){"${HUNDRED}"}))`;
    const result = await evaluate(source, { maxValueBytes: 50_000 });
    expect(result.ok ? undefined : result.error.message).toBe(
      '$join of 100000 characters would be over the 50000-byte limit',
    );
  });

  it('stops string concatenation in a loop at the value cap', async () => {
    const source = `$reduce([1..1000], function($a, $v){ $a & "${HUNDRED}" })`;
    const result = await evaluate(source, { maxValueBytes: 20_000 });
    expect(result.ok ? undefined : result.error.message).toMatch(/^expression built a string of/);
  });

  it('refuses a result that would serialise past the cap', async () => {
    const result = await evaluate('($s := $pad("", 1000, "y"); [1..100].$s)', {
      maxValueBytes: 50_000,
    });
    expect(result.ok ? undefined : result.error.message).toBe(
      'expression result is over the 50000-byte limit',
    );
  });

  it('caps what the built-ins build across an evaluation', async () => {
    const result = await evaluate('[1..100].($pad("", 9000))', { maxValueBytes: 10_000 });
    expect(result.ok ? undefined : result.error.message).toBe(
      'expression built more than 80000 bytes of strings and arrays',
    );
  });

  it('refuses arrays with more items than the cap allows', async () => {
    const result = await evaluate('[1..1e6]', { maxValueBytes: 1000 });
    expect(result.ok ? undefined : result.error.message).toMatch(/over the 500-item limit/);
  });

  it('refuses a $split into more pieces than the cap', async () => {
    const result = await evaluate('$split($pad("", 2000, "a"), "")', { maxValueBytes: 3000 });
    expect(result.ok ? undefined : result.error.reason).toBe('limit');
  });

  it('counts $split pieces on a separator before splitting', async () => {
    const over = await evaluate('$split($pad("", 3000, "a,"), ",")', { maxValueBytes: 3000 });
    expect(over.ok ? undefined : over.error.message).toBe(
      '$split would make more than 1500 pieces',
    );
    const under = await evaluate('$count($split($pad("", 2000, "a,"), ","))', {
      maxValueBytes: 3000,
    });
    expect(under).toEqual({ ok: true, value: 1001 });
  });

  it('refuses a long timestamp with a picture (its RegExp backtracks)', async () => {
    const text = 'one '.repeat(20);
    const result = await evaluate(`$toMillis("${text}x", "[Yw][Mw][Dw][Hw][mw][sw]")`);
    expect(result.ok ? undefined : result.error.reason).toBe('limit');
  });
});

describe('regular expressions', () => {
  it('matches a catastrophic pattern in linear time', async () => {
    const result = await evaluate('$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)');
    expect(result).toEqual({ ok: true, value: undefined });
  });

  it.each([
    ['$match("ab12cd345", /([a-z]+)([0-9]+)/)', 'match'],
    ['$replace("abcABC", /b/i, "[$0]")', 'replace'],
    ['$split("a1b22c", /[0-9]+/)', 'split'],
    ['$contains("hello", /l+/)', 'contains'],
    ['$match("x\\ny", /^y$/m)', 'multiline'],
    ['$replace("a.b.c", /\\./, "/", 1)', 'limit'],
    ['$match("ab", /(x)?b/)', 'unmatched group'],
  ])('gives the native engine results for %s (%s)', async (source) => {
    const native = (await jsonata(source).evaluate({})) as unknown;
    expect(await evaluate(source)).toEqual({ ok: true, value: native });
  });

  it('rejects at compile time what RE2 cannot run', () => {
    const compiled = compileExpression('$match("aa", /(a)\\1/)');
    expect(compiled.ok ? undefined : compiled.error).toMatch(/not supported \(linear-time engine/);
  });

  it('checks the budget between the matches of one call', async () => {
    const text = 'ab'.repeat(5000);
    const result = await evaluate(`$count($match("${text}", /a/))`, {
      now: steppingClock(),
      maxMs: 100,
    });
    expect(result.ok ? undefined : result.error.reason).toBe('timeout');
  });
});

describe('function signatures', () => {
  it('rejects signatures whose native check backtracks', () => {
    const compiled = compileExpression('(function($a,$b)<n+n+:n>{1})(1, 2)');
    expect(compiled.ok ? undefined : compiled.error).toMatch(/too many variable parameters/);
  });

  it('rejects them inside $eval too', async () => {
    const result = await evaluate('$eval("(function($a,$b)<n+n+:n>{1})(1)")');
    expect(result.ok ? undefined : result.error.reason).toBe('limit');
  });

  it('accepts ordinary signatures', async () => {
    expect(await evaluate('(function($a, $b)<n+:n>{$a})(1, 2)')).toEqual({ ok: true, value: 1 });
  });
});

describe('replaced built-ins', () => {
  const strings = ['', 'abc', 'héllo', 'a😀b😀c', '\uD800x', 'x\uDC00', '😀😀😀', '\uDC00\uD800'];
  const calls = (s: string) => [
    `$length(s)`,
    `$substring(s, 1)`,
    `$substring(s, -2)`,
    `$substring(s, 1, 2)`,
    `$substring(s, -3, 2)`,
    `$substring(s, 1.5, 1.7)`,
    `$pad(s, 7)`,
    `$pad(s, -7, "😀x")`,
    `$pad(s, 6, "\uDC00\uD800")`,
    `$pad(s, 5, "${s === '' ? '-' : 'ab'}")`,
  ];
  it.each(strings)('match jsonata for %j', async (s) => {
    for (const source of calls(s)) {
      const native = (await jsonata(source).evaluate({ s })) as unknown;
      expect([source, await evaluate(source, {}, { s })]).toEqual([
        source,
        { ok: true, value: native },
      ]);
    }
  });

  it.each([
    '$sort([3, 1, 2, 1])',
    '$sort(["b", "a", "c"])',
    '$sort([{"k":2,"i":0},{"k":1,"i":1},{"k":2,"i":2},{"k":1,"i":3}], function($a,$b){$a.k > $b.k})',
    '$distinct([1, "1", 1, {"a":1,"b":2}, {"b":2,"a":1}, [1,2], [2,1], [1,2], null, null])',
    '$distinct("x")',
    '$distinct([1])',
  ])('give jsonata results for %s', async (source) => {
    const native = (await jsonata(source).evaluate({})) as unknown;
    expect(await evaluate(source)).toEqual({ ok: true, value: native });
  });

  it.each([
    '$join(["a", "b"])',
    '$join([], ",")',
    '$string({"a": [1, "x"]})',
    '$split("a,b,c", ",", 2)',
    '$eval("1 +")',
    '$eval("$sum([1, 2])")',
    '$distinct([{"a": [1, {"b": null}], "c": true}, {"c": true, "a": [1, {"b": null}]}, "z"])',
    '$distinct([$sum, $sum, $count, {"f": $sum}, {"f": $sum}])',
  ])('give jsonata results for %s', async (source) => {
    let native: unknown;
    try {
      native = { ok: true, value: (await jsonata(source).evaluate({})) as unknown };
    } catch (e) {
      native = { ok: false, code: (e as { code?: string }).code };
    }
    const ours = await evaluate(source);
    expect(ours.ok ? ours : { ok: false, code: ours.error.message.split(':')[0] }).toEqual(native);
  });

  it('refuses $string of a value that would serialise past the cap', async () => {
    const result = await evaluate('$string([1..200].("abcdefghij"))', { maxValueBytes: 1000 });
    expect(result.ok ? undefined : result.error.message).toBe(
      '$string of this value would be over the 1000-byte limit',
    );
  });

  it('keeps the error of $sort on mixed values', async () => {
    const result = await evaluate('$sort([1, "a"])');
    expect(result.ok ? undefined : result.error.message).toMatch(/^D3070/);
  });

  it('sorts and dedupes large arrays within the budget', async () => {
    const result = await evaluate('[$count($sort([1..100000])), $count($distinct([1..100000]))]');
    expect(result).toEqual({ ok: true, value: [100000, 100000] });
  });
});

describe('templates', () => {
  it('render within the options and report why a template failed', async () => {
    const compiled = compileConfig({ url: 'x{{ ($f := function($n){$f($n+1)}; $f(0)) }}' }, []);
    if (!compiled.ok) throw new TypeError('does not compile');
    const result = await compiled.value.render({}, { now: steppingClock(), maxMs: 100 });
    expect(result.ok ? undefined : result.error).toEqual({
      path: '/config/url',
      reason: 'timeout',
      message: 'expression evaluation exceeded the 100 ms limit',
    });
  });
});

describe('jsonBytesAtLeast', () => {
  it('counts a lower bound of the JSON size', () => {
    const value = { a: [1, 'xy', null, true], b: {} };
    expect(jsonBytesAtLeast(value, 1000)).toBeLessThanOrEqual(JSON.stringify(value).length);
  });
  it('stops as soon as the bound passes the limit', () => {
    const big = 'x'.repeat(1000);
    expect(jsonBytesAtLeast(new Array(1e6).fill(big), 5000)).toBe(5001);
  });
});
