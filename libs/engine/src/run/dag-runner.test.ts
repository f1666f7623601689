import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import {
  abortError,
  NodeError,
  createNodeRegistry,
  createTransformNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import { compileTestWorkflow, dagRequest, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { runDag } from './dag-runner.ts';

/** A node that only ends when its signal aborts (and says when it did). */
function hangingNode(aborted: string[]): NodeDefinition<never> {
  return {
    type: 'http',
    version: 1,
    configSchema: Type.Object({}),
    rawFields: [],
    execute: (ctx) =>
      new Promise((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => {
          aborted.push(ctx.nodeId);
          reject(abortError(ctx.signal));
        }),
      ),
  };
}

describe('runDag', () => {
  it('aborts nodes still in flight when a checkpoint cannot be written, then rethrows', async () => {
    //   fast (transform)    hang (never ends on its own)
    const aborted: string[] = [];
    const registry = createNodeRegistry([createTransformNode(), hangingNode(aborted)]);
    const workflow = compileTestWorkflow(
      {
        name: 'w',
        nodes: [
          { id: 'fast', type: 'transform', config: { expression: '1' } },
          { id: 'hang', type: 'http', config: {} },
        ],
      },
      registry,
    );
    // ACT: the checkpoint of `fast` fails for good
    await withNodeDeps(registry, { slots: 4, maxOutputBytes: 1024 }, async (deps) => {
      const run = runDag(
        deps,
        dagRequest(workflow, {
          onSettled: (id) =>
            id === 'fast' ? Promise.reject(new TypeError('database gone')) : Promise.resolve(),
        }),
      );
      // ASSERT
      await expect(run).rejects.toThrow('database gone');
      expect(aborted).toEqual(['hang']);
    });
  });
});

describe('runDag outcome', () => {
  it('fails the execution when a node ends cancelled although the execution was not stopped', async () => {
    //   first (transform) -> gone (cancels itself: its client was closed under it)
    const registry = createNodeRegistry([
      createTransformNode(),
      {
        type: 'http',
        version: 1,
        configSchema: Type.Object({}),
        rawFields: [],
        execute: () =>
          Promise.reject(new NodeError('CANCELLATION', 'client closed', { retryable: false })),
      } satisfies NodeDefinition<never>,
    ]);
    const workflow = compileTestWorkflow(
      {
        name: 'w',
        nodes: [
          { id: 'first', type: 'transform', config: { expression: '1' } },
          { id: 'gone', type: 'http', config: {} },
        ],
        edges: [{ from: 'first', to: 'gone' }],
      },
      registry,
    );
    // ACT
    const outcome = await withNodeDeps(registry, { slots: 4, maxOutputBytes: 1024 }, (deps) =>
      runDag(deps, dagRequest(workflow)),
    );
    // ASSERT
    expect(outcome).toEqual({
      status: 'failed',
      error: { type: 'CANCELLATION', message: 'client closed', node_id: 'gone' },
    });
  });
});
