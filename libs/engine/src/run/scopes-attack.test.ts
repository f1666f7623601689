import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import {
  DEFAULT_RATE_CARD,
  type NodeState,
  type RateCard,
  type WorkflowDefinition,
} from '@linkflow/domain';
import {
  createForeachNode,
  createNodeRegistry,
  createReturnNode,
  createTransformNode,
  createTryNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import { compileTestWorkflow, dagRequest, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { runDag } from './dag-runner.ts';

// Hostile-review probes of the scope runners: resumes of a return inside a scope, and the
// execution's max_concurrency across parallel iterations.

/** `probe` (typed as code): counts runs and the most runs in flight at once. */
const probes = { runs: 0, inFlight: 0, peak: 0 };
const probe: NodeDefinition<never> = {
  type: 'code',
  version: 1,
  configSchema: Type.Object({}),
  rawFields: [],
  execute: async () => {
    probes.runs += 1;
    probes.inFlight += 1;
    probes.peak = Math.max(probes.peak, probes.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 150));
    probes.inFlight -= 1;
    return { output: 'ran', usage: {} };
  },
};
const registry = createNodeRegistry([
  createTransformNode(),
  createForeachNode(),
  createTryNode(),
  createReturnNode(),
  probe,
] as NodeDefinition<never>[]);

const reset = () => Object.assign(probes, { runs: 0, inFlight: 0, peak: 0 });
const context = (items: unknown[]) => ({
  input: { items },
  execution: { id: 'e', workflow_id: 'w', attempt: 2 },
});

describe('a return inside a scope, resumed after a crash', () => {
  it('ends the resumed run with the value of a return checkpointed in a foreach iteration', async () => {
    //   loop (foreach): body [stop (return item)] ; loop --> after (a side effect)
    const workflow = compileTestWorkflow(
      {
        name: 'resumed-return',
        nodes: [
          { id: 'loop', type: 'foreach', config: { items: 'input.items', body: ['stop'] } },
          { id: 'stop', type: 'return', config: { value: '{{ item }}' } },
          { id: 'after', type: 'code', config: {} },
        ],
        edges: [{ from: 'loop', to: 'after' }],
      },
      registry,
    );
    // ARRANGE: iteration 0's return settled, then the executor died before the final write
    const returned: NodeState = { status: 'success', output: 'a' };
    const resumed = new Map([[0, new Map([['stop', returned]])]]);
    reset();
    // ACT
    const outcome = await withNodeDeps(registry, { maxOutputBytes: 1 << 20, slots: 4 }, (d) =>
      runDag(d, dagRequest(workflow, { context: context(['a', 'b']), resumed })),
    );
    // ASSERT: the run ends as the first attempt would have: returned 'a', nothing else ran
    expect(outcome).toMatchObject({
      status: 'success',
      returned: true,
      nodeId: 'stop',
      output: 'a',
    });
    expect(probes.runs).toBe(0);
  });

  it('ends the resumed run with the value of a return checkpointed in a try list', async () => {
    //   guard: try [stop (return 7)] ; guard --> after (a side effect)
    const workflow = compileTestWorkflow(
      {
        name: 'resumed-try-return',
        nodes: [
          { id: 'guard', type: 'try', config: { try: ['stop'] } },
          { id: 'stop', type: 'return', config: { value: 7 } },
          { id: 'after', type: 'code', config: {} },
        ],
        edges: [{ from: 'guard', to: 'after' }],
      },
      registry,
    );
    const resumed = new Map([
      [-1, new Map<string, NodeState>([['stop', { status: 'success', output: 7 }]])],
    ]);
    reset();
    const outcome = await withNodeDeps(registry, { maxOutputBytes: 1 << 20, slots: 4 }, (d) =>
      runDag(d, dagRequest(workflow, { context: context([]), resumed })),
    );
    expect(outcome).toMatchObject({ status: 'success', returned: true, nodeId: 'stop', output: 7 });
    expect(probes.runs).toBe(0);
  });
});

describe('max_concurrency across parallel iterations', () => {
  // Each iteration's region plans against max_concurrency on its own; without one
  // execution-wide count a parallel foreach ran up to width x max_concurrency body nodes at
  // once. Every non-scope node run now holds one of the execution's node permits.
  it('never runs more body nodes at once than the execution max_concurrency', async () => {
    //   loop (foreach, parallel, max_parallel 2): body [a, b] (independent) ; max_concurrency 2
    const definition: WorkflowDefinition = {
      name: 'wide',
      nodes: [
        {
          id: 'loop',
          type: 'foreach',
          config: { items: 'input.items', body: ['a', 'b'], parallel: true, max_parallel: 2 },
        },
        { id: 'a', type: 'code', config: {} },
        { id: 'b', type: 'code', config: {} },
      ],
      settings: { max_concurrency: 2 },
    };
    const workflow = compileTestWorkflow(definition, registry);
    reset();
    const outcome = await withNodeDeps(registry, { maxOutputBytes: 1 << 20, slots: 16 }, (d) =>
      runDag(d, dagRequest(workflow, { context: context([1, 2, 3, 4]) })),
    );
    expect(outcome).toMatchObject({ status: 'success' });
    expect(probes.runs).toBe(8);
    expect(probes.peak).toBeLessThanOrEqual(2);
  });
});

describe('a budget stop inside a try', () => {
  /** Every node run costs exactly 0.01 USD. */
  const flatCard: RateCard = {
    ...DEFAULT_RATE_CARD,
    per_node_run: 0.01,
    per_wall_ms: 0,
    per_cpu_ms: 0,
    per_byte_stored: 0,
  };

  it('is not caught: the execution fails with BUDGET rather than ending success', async () => {
    //   guard: try [a --> b] (continue) ; max_cost 0.01: a spends it, b may not start
    const workflow = compileTestWorkflow(
      {
        name: 'swallowed-budget',
        nodes: [
          { id: 'guard', type: 'try', config: { try: ['a', 'b'], error_scope: 'continue' } },
          { id: 'a', type: 'transform', config: { expression: '1' } },
          { id: 'b', type: 'code', config: {} },
        ],
        edges: [{ from: 'a', to: 'b' }],
        settings: { max_cost: '0.01' },
      },
      registry,
    );
    reset();
    const outcome = await withNodeDeps(registry, { maxOutputBytes: 1 << 20, slots: 4 }, (d) =>
      runDag({ ...d, rateCard: flatCard }, dagRequest(workflow, { context: context([]) })),
    );
    expect(probes.runs).toBe(0);
    expect(outcome).toMatchObject({ status: 'failed', error: { type: 'BUDGET' } });
  });
});

describe('the retained-output cap inside a try', () => {
  it('is not swallowed by error_scope continue: the execution fails (holds)', async () => {
    // six independent trys, each holding a 1000-byte output; the run may hold 2500 bytes.
    // Caught, the cap let every try go on, each output kept for later templates: with 9 MB
    // outputs, a few hundred such trys fill the executor's heap.
    const guards = Array.from({ length: 6 }, (_, i) => i);
    const workflow = compileTestWorkflow(
      {
        name: 'swallowed-cap',
        nodes: guards.flatMap((i) => [
          { id: `g${i}`, type: 'try', config: { try: [`big${i}`], error_scope: 'continue' } },
          { id: `big${i}`, type: 'transform', config: { expression: "$pad('', 1000, 'x')" } },
        ]),
        settings: { fail_fast: false, max_concurrency: 1 },
      },
      registry,
    );
    const outcome = await withNodeDeps(
      registry,
      { maxOutputBytes: 1 << 20, maxRetainedOutputBytes: 2500 },
      (d) => runDag(d, dagRequest(workflow, { context: context([]) })),
    );
    expect(outcome).toMatchObject({ status: 'failed', error: { type: 'EXECUTION' } });
  });
});
