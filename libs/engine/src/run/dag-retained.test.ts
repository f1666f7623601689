import { describe, expect, it } from 'vitest';
import { createNodeRegistry, createTransformNode } from '@linkflow/nodes';
import { compileTestWorkflow, dagRequest, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { runDag } from './dag-runner.ts';
import { RetainedOutputs } from './output-cap.ts';

describe('runDag retained outputs', () => {
  it('fails the execution with EXECUTION as soon as the outputs it holds pass the budget', async () => {
    //   a -> b -> c, each returning 600 characters, 1000 bytes may be held
    const registry = createNodeRegistry([createTransformNode()]);
    const big = { expression: "$pad('', 600, 'x')" };
    const workflow = compileTestWorkflow(
      {
        name: 'w',
        nodes: ['a', 'b', 'c'].map((id) => ({ id, type: 'transform', config: big })),
        edges: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
        ],
      },
      registry,
    );
    const started: string[] = [];
    const settled: Record<string, string> = {};
    // ACT
    const outcome = await withNodeDeps(
      registry,
      { slots: 4, maxOutputBytes: 1024, maxRetainedOutputBytes: 1000 },
      (deps) =>
        runDag(
          deps,
          dagRequest(workflow, {
            onStarted: (id) => started.push(id),
            onSettled: (id, result) => {
              settled[id] = result.status;
              return Promise.resolve();
            },
          }),
        ),
    );
    // ASSERT
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { type: 'EXECUTION', node_id: 'b' },
    });
    expect(outcome.status === 'failed' && outcome.error.message).toMatch(
      /1204 bytes, over the 1000-byte limit/,
    );
    expect(started).toEqual(['a', 'b']);
    expect(settled).toEqual({ a: 'success', b: 'success', c: 'cancelled' });
  });

  it('counts the outputs a resumed run already holds', () => {
    const retained = new RetainedOutputs(1000, { a: 'x'.repeat(900) });
    expect(retained.bytes).toBe(902);
    expect(retained.add('b', 50)).toBeUndefined();
    expect(retained.add('c', 50)).toMatchObject({ status: 'failed', error: { node_id: 'c' } });
  });
});
