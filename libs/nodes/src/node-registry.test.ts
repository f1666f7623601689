import { describe, expect, it } from 'vitest';
import { createConditionNode, createTransformNode } from './expression/expression-nodes.ts';
import { createNodeRegistry } from './node-registry.ts';
import type { NodeDefinition } from './node-definition.ts';

const defs = (): NodeDefinition<never>[] => [createTransformNode(), createConditionNode()];

describe('createNodeRegistry', () => {
  it('resolves types and lists their schemas', () => {
    const registry = createNodeRegistry(defs());
    expect(registry.resolve('transform').type).toBe('transform');
    expect(registry.resolve('transform', 1).version).toBe(1);
    expect(registry.list().map((t) => t.type)).toEqual(['transform', 'condition']);
    expect(registry.types()).toEqual(['transform', 'condition']);
  });
  it('fails at start-up on a duplicate type@version', () => {
    expect(() =>
      createNodeRegistry([...defs(), createTransformNode() as NodeDefinition<never>]),
    ).toThrow(/registered twice/);
  });
  it('hides types that are not enabled', () => {
    const registry = createNodeRegistry(defs(), ['condition']);
    expect(registry.get('transform')).toBeUndefined();
    expect(() => registry.resolve('transform')).toThrow(/not enabled/);
    expect(() => registry.resolve('transform', 1)).toThrow(/not enabled/);
  });
  it('checks configs against the schema, then the type rules', () => {
    const spec = createNodeRegistry(defs()).get('transform');
    expect(spec?.checkConfig({})).toEqual([
      { path: '/config/expression', message: expect.any(String) as string },
    ]);
    expect(spec?.checkConfig({ expression: '1', extra: 1 })[0]?.path).toBe('/config/extra');
    expect(spec?.checkConfig({ expression: '1' })).toEqual([]);
    expect(spec?.expressionsOf?.({ expression: 'x' })).toHaveLength(1);
  });
  it('reports health and closes every type', async () => {
    const registry = createNodeRegistry(defs());
    expect(await registry.health()).toEqual({ transform: { ok: true }, condition: { ok: true } });
    await registry.close();
  });
});
