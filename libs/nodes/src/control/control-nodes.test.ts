import { describe, expect, it } from 'vitest';
import type { NodeInput } from '../node-definition.ts';
import { createNodeRegistry } from '../node-registry.ts';
import type { NodeDefinition } from '../node-definition.ts';
import { fakeNodeContext } from '../testing/node-context.ts';
import {
  createForeachNode,
  createReturnNode,
  createRouterNode,
  createTryNode,
} from './control-nodes.ts';

const ctx = fakeNodeContext();
const input: NodeInput = {
  input: { total: 150, list: [1, 2, 3], one: 7 },
  nodes: {},
  execution: { id: 'e', workflow_id: 'w', attempt: 1 },
};
const registry = createNodeRegistry([
  createRouterNode(),
  createReturnNode(),
  createTryNode(),
  createForeachNode(),
] as NodeDefinition<never>[]);

describe('router node', () => {
  const routes = [
    { name: 'small', expression: 'input.total < 100' },
    { name: 'big', expression: 'input.total >= 100' },
    { name: 'also_big', expression: 'true' },
  ];
  it('picks the first route whose expression is true', async () => {
    const out = await createRouterNode().execute(ctx, { routes }, input);
    expect(out.output).toEqual({ route: 'big' });
  });
  it('falls back to default, or null without one', async () => {
    const none = [{ name: 'never', expression: 'false' }];
    const node = createRouterNode();
    expect((await node.execute(ctx, { routes: none, default: 'other' }, input)).output).toEqual({
      route: 'other',
    });
    expect((await node.execute(ctx, { routes: none }, input)).output).toEqual({ route: null });
  });
  it('rejects duplicate route names and routes that are no expression', () => {
    const spec = registry.get('router');
    const dup = { routes: [routes[0], routes[0]] };
    expect(spec?.checkConfig(dup)).toEqual([
      { path: '/config/routes/1/name', message: "duplicate route 'small'" },
    ]);
    expect(spec?.expressionsOf?.({ routes })).toHaveLength(3);
  });
});

describe('foreach node', () => {
  it('answers the items array', async () => {
    const out = await createForeachNode().execute(ctx, { items: 'input.list', body: [] }, input);
    expect(out.output).toEqual([1, 2, 3]);
  });
  it('fails with VALIDATION when items is no array', async () => {
    await expect(
      createForeachNode().execute(ctx, { items: 'input.one', body: [] }, input),
    ).rejects.toMatchObject({ type: 'VALIDATION', retryable: false });
  });
  it('fails with VALIDATION past max_items', async () => {
    await expect(
      createForeachNode().execute(ctx, { items: 'input.list', body: [], max_items: 2 }, input),
    ).rejects.toMatchObject({
      type: 'VALIDATION',
      message: 'foreach has 3 items, more than max_items 2',
    });
  });
  it('requires items in its config schema', () => {
    expect(registry.get('foreach')?.checkConfig({ body: [] })).toEqual([
      { path: '/config/items', message: expect.any(String) as string },
    ]);
  });
});

describe('return and try nodes', () => {
  it('return answers its value', async () => {
    expect((await createReturnNode().execute(ctx, { value: { a: 1 } }, input)).output).toEqual({
      a: 1,
    });
    expect((await createReturnNode().execute(ctx, {}, input)).output).toBeNull();
  });
  it('try answers the success shape and checks error_scope', async () => {
    expect((await createTryNode().execute(ctx, { try: [] }, input)).output).toEqual({
      ok: true,
      error: null,
    });
    expect(registry.get('try')?.checkConfig({ try: [], error_scope: 'ignore' })).toHaveLength(1);
  });
});
