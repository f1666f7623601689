import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { createNodeRegistry, type NodeDefinition } from '@linkflow/nodes';
import { runTestNode } from '../testing/node-runner-fakes.ts';

/** A node that echoes its rendered config. */
const echoNode: NodeDefinition<Record<string, unknown>> = {
  type: 'transform',
  version: 1,
  configSchema: Type.Object({}, { additionalProperties: true }),
  rawFields: [],
  execute: (_ctx, config) => Promise.resolve({ output: Object.keys(config).length, usage: {} }),
};

function renderNode(config: Record<string, unknown>) {
  return runTestNode(
    createNodeRegistry([echoNode]),
    { name: 'w', nodes: [{ id: 'echo', type: 'transform', config }] },
    'echo',
    { maxOutputBytes: 1024 },
  );
}

describe('config rendering cap', () => {
  it('fails the node with EXPRESSION once its rendered templates add up past the output cap', async () => {
    // Each template is under the 1024-byte cap on its own; together they are not.
    const template = "{{ $pad('', 600, 'x') }}";
    const result = await renderNode({ a: template, b: { c: template }, d: [template] });
    expect(result.status).toBe('failed');
    expect(result.error?.type).toBe('EXPRESSION');
    expect(result.error?.message).toMatch(/over the 1024-byte limit/);
  });

  it('renders templates whose total is within the cap', async () => {
    const template = "{{ $pad('', 300, 'x') }}";
    const result = await renderNode({ a: template, b: `${template}-${template}`, n: '{{ 5 }}' });
    expect(result.status).toBe('success');
    expect(result.output).toBe(3);
  });
});
