import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '@linkflow/domain';
import {
  createForeachNode,
  createNodeRegistry,
  createTransformNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import { compileTestWorkflow, dagRequest, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { runDag } from './dag-runner.ts';

// Many runs share one abort signal at once (a loop's lanes, a wide DAG): Node must not warn
// of a listener leak for that, and none of their listeners may outlive the run.

const registry = createNodeRegistry([
  createTransformNode(),
  createForeachNode(),
] as NodeDefinition<never>[]);

//   each (foreach over [1..200], 50 lanes): body [v]
const wideLoop: WorkflowDefinition = {
  name: 'wide-loop',
  nodes: [
    {
      id: 'each',
      type: 'foreach',
      config: { items: '[1..200]', body: ['v'], parallel: true, max_parallel: 50 },
    },
    { id: 'v', type: 'transform', config: { expression: 'item * 2' } },
  ],
  edges: [],
  settings: { max_concurrency: 50 },
};

//   n0  n1  …  n29   (30 independent transforms)
const wideDag: WorkflowDefinition = {
  name: 'wide-dag',
  nodes: Array.from({ length: 30 }, (_, i) => ({
    id: `n${i}`,
    type: 'transform',
    config: { expression: `${i}` },
  })),
  edges: [],
  settings: { max_concurrency: 30 },
};

const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(w.name);
beforeEach(() => {
  warnings.length = 0;
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

describe('abort signals shared by many runs', () => {
  it.each([
    ['a 50-lane loop', wideLoop],
    ['30 nodes at once', wideDag],
  ])('%s: no leak warning, no listener left on the execution signal', async (_, definition) => {
    const workflow = compileTestWorkflow(definition, registry);
    const signal = new AbortController().signal;
    const outcome = await withNodeDeps(registry, { maxOutputBytes: 1 << 20, slots: 50 }, (deps) =>
      runDag(deps, dagRequest(workflow, { signal })),
    );
    // process.emitWarning emits on a later tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcome.status).toBe('success');
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});
