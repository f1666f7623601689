import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { compileWorkflow } from '@linkflow/domain';
import {
  abortError,
  createNodeRegistry,
  createTransformNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import { BreakerRegistry } from '../breakers/breaker-registry.ts';
import { runDag } from './dag-runner.ts';
import { Semaphore } from './semaphore.ts';

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
    const compiled = compileWorkflow(
      {
        name: 'w',
        nodes: [
          { id: 'fast', type: 'transform', config: { expression: '1' } },
          { id: 'hang', type: 'http', config: {} },
        ],
      },
      registry,
    );
    if (!compiled.ok) throw new TypeError('bad test workflow');
    const breakers = new BreakerRegistry();
    const deps = {
      registry,
      breakers,
      slots: new Semaphore(4),
      clock: { now: () => new Date() },
      random: () => 0.5,
      maxOutputBytes: 1024,
    };
    // ACT: the checkpoint of `fast` fails for good
    const run = runDag(deps, {
      workflow: compiled.value,
      states: new Map(),
      context: { input: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
      tenantId: 't1',
      signal: new AbortController().signal,
      onStarted: () => undefined,
      onSettled: (id) =>
        id === 'fast' ? Promise.reject(new TypeError('database gone')) : Promise.resolve(),
    });
    // ASSERT
    await expect(run).rejects.toThrow('database gone');
    expect(aborted).toEqual(['hang']);
    breakers.shutdown();
  });
});
