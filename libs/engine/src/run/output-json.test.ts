import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { createNodeRegistry, type NodeDefinition } from '@linkflow/nodes';
import { runTestNode } from '../testing/node-runner-fakes.ts';
import { MAX_OUTPUT_DEPTH } from './output-json.ts';

const nested = (depth: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) value = i % 2 === 0 ? [value] : { v: value };
  return value;
};

/** Runs one node whose execute returns `output` after logging `log`. */
function runWith(output: () => unknown, log = 'ok') {
  const node: NodeDefinition<never> = {
    type: 'transform',
    version: 1,
    configSchema: Type.Object({}),
    rawFields: [],
    execute: (ctx) => {
      ctx.log('info', log, { text: log });
      return Promise.resolve({ output: output(), usage: {} });
    },
  };
  return runTestNode(
    createNodeRegistry([node]),
    { name: 'w', nodes: [{ id: 'n', type: 'transform', config: {} }] },
    'n',
    { maxOutputBytes: 10_000_000 },
  );
}

describe('runNode output storability', () => {
  it('fails an output with a lone surrogate with EXECUTION', async () => {
    for (const bad of ['a\ud800b', 'x\udc00', { 'k\ud800': 1 }]) {
      const result = await runWith(() => ({ v: bad }));
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({ type: 'EXECUTION' });
      expect(result.error?.message).toContain('lone UTF-16 surrogate');
    }
    expect((await runWith(() => ({ v: 'ok 😀' }))).status).toBe('success');
  });

  it('fails an output nested deeper than the limit with EXECUTION, at any depth', async () => {
    for (const depth of [MAX_OUTPUT_DEPTH + 1, 5_000, 100_000]) {
      const result = await runWith(() => nested(depth));
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({
        type: 'EXECUTION',
        message: `node output is nested deeper than ${MAX_OUTPUT_DEPTH} levels`,
      });
    }
    expect((await runWith(() => nested(MAX_OUTPUT_DEPTH - 1))).status).toBe('success');
  });

  it('maps a stack overflow while the node runs to the same error', async () => {
    const overflow = (): unknown => overflow();
    const result = await runWith(overflow);
    expect(result.error).toMatchObject({ type: 'EXECUTION' });
    expect(result.error?.message).toContain('nested deeper than');
  });

  it('replaces lone surrogates in log lines instead of failing', async () => {
    const result = await runWith(() => 1, 'a\ud800\u0000b');
    expect(result.status).toBe('success');
    expect(result.logs[0]).toMatchObject({ message: 'a\ufffdb', data: { text: 'a\ufffdb' } });
  });
});
