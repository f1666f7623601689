import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { compileWorkflow } from '@linkflow/domain';
import {
  abortError,
  NodeError,
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
    const compiled = compileWorkflow(
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
    if (!compiled.ok) throw new TypeError('bad test workflow');
    const breakers = new BreakerRegistry();
    // ACT
    const outcome = await runDag(
      {
        registry,
        breakers,
        slots: new Semaphore(4),
        clock: { now: () => new Date() },
        random: () => 0.5,
        maxOutputBytes: 1024,
      },
      {
        workflow: compiled.value,
        states: new Map(),
        context: { input: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
        tenantId: 't1',
        signal: new AbortController().signal,
        onStarted: () => undefined,
        onSettled: () => Promise.resolve(),
      },
    );
    // ASSERT
    expect(outcome).toEqual({
      status: 'failed',
      error: { type: 'CANCELLATION', message: 'client closed', node_id: 'gone' },
    });
    breakers.shutdown();
  });
});
