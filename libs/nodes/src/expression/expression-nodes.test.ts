import { describe, expect, it } from 'vitest';
import type { NodeInput } from '../node-definition.ts';
import { NodeError } from '../node-errors.ts';
import { fakeNodeContext } from '../testing/node-context.ts';
import { ExpressionCache } from './expression-cache.ts';
import { expressionError } from './expression-errors.ts';
import { evaluationLimits } from './evaluation-limits.ts';
import { createConditionNode, createTransformNode } from './expression-nodes.ts';

const ctx = fakeNodeContext();
const input: NodeInput = {
  input: { total: 150, items: [] },
  nodes: { a: { x: 1 } },
  execution: { id: 'e', workflow_id: 'w', attempt: 1 },
};

describe('transform node', () => {
  it('returns the value of the expression', async () => {
    const node = createTransformNode();
    expect(
      (
        await node.execute(
          ctx,
          { expression: "{ 'id': nodes.a.x, 'double': input.total * 2 }" },
          input,
        )
      ).output,
    ).toEqual({ id: 1, double: 300 });
  });
  it('maps an undefined value to null', async () => {
    expect(
      (await createTransformNode().execute(ctx, { expression: 'input.missing' }, input)).output,
    ).toBeNull();
  });
  it('fails with EXPRESSION when evaluation throws', async () => {
    await expect(
      createTransformNode().execute(ctx, { expression: '$error("nope")' }, input),
    ).rejects.toMatchObject({ type: 'EXPRESSION', retryable: false });
  });
  it('lists its expression for validation', () => {
    expect(createTransformNode().expressionsOf?.({ expression: '1' })).toEqual([
      { path: '/config/expression', expression: '1' },
    ]);
  });
});

describe('condition node', () => {
  const node = createConditionNode();
  it.each([
    ['input.total > 100', true],
    ['input.total > 200', false],
    ['input.items', false],
    ['input', true],
    ["''", false],
    ['[0, 1]', true],
  ])('evaluates %s to %s', async (expression, result) => {
    expect((await node.execute(ctx, { expression }, input)).output).toEqual({ result });
  });
});

describe('ExpressionCache', () => {
  it('compiles once per source and evicts the least recently used past its bound', () => {
    const cache = new ExpressionCache({ max: 2 });
    const first = cache.get('1');
    expect(cache.get('1')).toBe(first);
    cache.get('2');
    cache.get('3');
    expect(cache.get('1')).not.toBe(first);
  });
  it('throws EXPRESSION for a source that does not parse', () => {
    expect(() => new ExpressionCache().get('1 +')).toThrow(NodeError);
  });
});

describe('ExpressionCache byte bound', () => {
  it('holds no more source text than its bound, however many 100 KB expressions come', () => {
    const cache = new ExpressionCache({ maxSourceChars: 512 * 1024 });
    for (let i = 0; i < 12; i++) {
      cache.get(`"${String(i).padStart(100_000, 'x')}"`);
      expect(cache.size).toBeLessThanOrEqual(512 * 1024);
    }
    expect(cache.size).toBeGreaterThan(400 * 1024);
  });
});

describe('runaway expressions', () => {
  const run = (expression: string, c = ctx) =>
    createTransformNode().execute(c, { expression }, input);
  const limited = (signal = new AbortController().signal) =>
    fakeNodeContext({ signal, timeoutMs: 30_000 });

  it('fail endless recursion with TIMEOUT at the ceiling', async () => {
    const c = { ...limited(), evaluation: evaluationLimits({ signal: ctx.signal, maxMs: 200 }) };
    await expect(run('($f := function($n){$f($n+1)}; $f(0))', c)).rejects.toMatchObject({
      type: 'TIMEOUT',
      message: 'expression failed: expression evaluation exceeded the 200 ms limit',
    });
  });

  it('fail with TIMEOUT at the default ceiling without executor limits', async () => {
    await expect(run('($f := function($n){$f($n+1)}; $f(0))', limited())).rejects.toMatchObject({
      type: 'TIMEOUT',
    });
  });

  it('finish a catastrophic regex at once', async () => {
    expect((await run('$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)')).output).toBeNull();
  });

  it('fail a 100 MB string with EXPRESSION before building it', async () => {
    await expect(run('$pad("", 1e8, "x")')).rejects.toMatchObject({
      type: 'EXPRESSION',
      retryable: false,
    });
  });

  it('stop with CANCELLATION when the node is cancelled mid-evaluation', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    await expect(
      run('($f := function($n){$f($n+1)}; $f(0))', limited(controller.signal)),
    ).rejects.toMatchObject({ type: 'CANCELLATION' });
  });

  it("stop with the abort reason's error when the node times out", async () => {
    const controller = new AbortController();
    const reason = new NodeError('TIMEOUT', 'node exceeded its timeout of 150 ms');
    setTimeout(() => controller.abort(reason), 150);
    await expect(
      run('($f := function($n){$f($n+1)}; $f(0))', limited(controller.signal)),
    ).rejects.toBe(reason);
  });
});

describe('expressionError', () => {
  it.each([
    ['timeout', 'TIMEOUT', false],
    ['deadline', 'TIMEOUT', true],
    ['aborted', 'CANCELLATION', false],
    ['limit', 'EXPRESSION', false],
    ['error', 'EXPRESSION', false],
  ] as const)('maps %s to %s', (reason, type, retryable) => {
    expect(expressionError({ reason, message: 'm' }, undefined)).toMatchObject({
      type,
      retryable,
      message: 'expression failed: m',
    });
  });
});
