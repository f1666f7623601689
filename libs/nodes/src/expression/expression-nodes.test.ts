import { describe, expect, it } from 'vitest';
import type { NodeContext, NodeInput } from '../node-definition.ts';
import { NodeError } from '../node-errors.ts';
import { ExpressionCache } from './expression-cache.ts';
import { createConditionNode, createTransformNode } from './expression-nodes.ts';

const ctx = {} as NodeContext;
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
  it('compiles once per source and evicts the oldest past its bound', () => {
    const cache = new ExpressionCache(2);
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
