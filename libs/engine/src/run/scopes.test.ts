import { describe, expect, it } from 'vitest';
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
import {
  compileTestWorkflow,
  dagRequest,
  withNodeDeps,
  fakeNodeType,
} from '../testing/node-runner-fakes.ts';
import { runDag } from './dag-runner.ts';

// The scope runners through runDag with our own fakes: budgets, caps and resumes inside scopes.

/** Every node run costs exactly 0.01 USD. */
const flatCard: RateCard = {
  ...DEFAULT_RATE_CARD,
  per_node_run: 0.01,
  per_wall_ms: 0,
  per_cpu_ms: 0,
  per_byte_stored: 0,
};

/** `probe` (typed as code): records `item` of each run; fails when the item is "boom". */
const seen: unknown[] = [];
const probe = fakeNodeType('code', (_ctx, _config, input) => {
  seen.push(input.item);
  if (input.item === 'boom') return Promise.reject(new TypeError('probe failed'));
  return Promise.resolve({ output: { item: input.item ?? null }, usage: {} });
});
const registry = createNodeRegistry([
  createTransformNode(),
  createForeachNode(),
  createTryNode(),
  createReturnNode(),
  probe,
] as NodeDefinition<never>[]);

//   each (foreach over input.items): body [p]
const loop = (settings: WorkflowDefinition['settings'] = {}): WorkflowDefinition => ({
  name: 'scopes',
  nodes: [
    { id: 'each', type: 'foreach', config: { items: 'input.items', body: ['p'] } },
    { id: 'p', type: 'code', config: {} },
  ],
  settings,
});

/** Runs `workflow` from scratch; its outcome and each settled node's status. */
async function runRecordingSettles(workflow: ReturnType<typeof compileTestWorkflow>) {
  const settled = new Map<string, string>();
  const outcome = await withNodeDeps(registry, { maxOutputBytes: 1 << 20 }, (d) =>
    runDag(
      d,
      dagRequest(workflow, {
        onSettled: (id, result) => {
          settled.set(id, result.status);
          return Promise.resolve();
        },
      }),
    ),
  );
  return { outcome, settled };
}

interface Settled {
  nodeId: string;
  iteration: number;
  status: string;
}

async function run(
  definition: WorkflowDefinition,
  options: {
    items: unknown[];
    resumed?: Map<number, Map<string, NodeState>>;
    card?: RateCard;
    retained?: number;
  },
) {
  seen.length = 0;
  const scoped: Settled[] = [];
  const workflow = compileTestWorkflow(definition, registry);
  const deps = { slots: 4, maxOutputBytes: 1 << 20 };
  const outcome = await withNodeDeps(
    registry,
    options.retained === undefined ? deps : { ...deps, maxRetainedOutputBytes: options.retained },
    (d) =>
      runDag(
        { ...d, ...(options.card ? { rateCard: options.card } : {}) },
        dagRequest(workflow, {
          context: {
            input: { items: options.items },
            execution: { id: 'e', workflow_id: 'w', attempt: 1 },
          },
          ...(options.resumed ? { resumed: options.resumed } : {}),
          onScopedSettled: ({ nodeId, iteration, result }) => {
            scoped.push({ nodeId, iteration, status: result.status });
            return Promise.resolve();
          },
        }),
      ),
  );
  return { outcome, scoped };
}

describe('foreach scope', () => {
  it('checkpoints each body run with its iteration and outputs the items in order', async () => {
    const { outcome, scoped } = await run(loop(), { items: ['a', 'b', 'c'] });
    expect(outcome).toEqual({
      status: 'success',
      output: { each: [{ item: 'a' }, { item: 'b' }, { item: 'c' }] },
    });
    expect(scoped).toEqual(
      [0, 1, 2].map((iteration) => ({ nodeId: 'p', iteration, status: 'success' })),
    );
  });

  it('reruns no iteration a resumed run finds checkpointed', async () => {
    // ARRANGE: iterations 0 and 1 finished before the crash
    const done = (item: string) =>
      new Map([['p', { status: 'success', output: { item } } as const]]);
    const resumed = new Map<number, Map<string, NodeState>>([
      [0, done('a')],
      [1, done('b')],
    ]);
    // ACT
    const { outcome } = await run(loop(), { items: ['a', 'b', 'c'], resumed });
    // ASSERT: only the third item ran; the output still holds all three
    expect(seen).toEqual(['c']);
    expect(outcome).toMatchObject({
      output: { each: [{ item: 'a' }, { item: 'b' }, { item: 'c' }] },
    });
  });

  it('fails the foreach with the failed iteration named, cancelling the rest', async () => {
    const { outcome } = await run(loop(), { items: ['a', 'boom', 'c'] });
    expect(outcome).toMatchObject({
      status: 'failed',
      error: { node_id: 'each', message: 'iteration 1: probe failed', iteration: 1 },
    });
    expect(seen).toEqual(['a', 'boom']);
  });

  it('stops at the budget inside the loop with a BUDGET error', async () => {
    // ARRANGE: each body run 0.01 (the foreach's own 0.01 counts when it settles); budget 0.03
    const { outcome, scoped } = await run(loop({ max_cost: '0.03' }), {
      items: ['a', 'b', 'c', 'd'],
      card: flatCard,
    });
    // ASSERT: three iterations ran, the fourth did not start
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(outcome).toMatchObject({ status: 'failed', error: { type: 'BUDGET', node_id: 'each' } });
    expect(scoped.at(-1)).toEqual({ nodeId: 'p', iteration: 3, status: 'cancelled' });
  });

  it('counts items and body outputs toward the retained-output cap', async () => {
    const items = Array.from({ length: 50 }, (_, i) => `item-${i}`);
    const { outcome } = await run(loop(), { items, retained: 1000 });
    expect(outcome).toMatchObject({ status: 'failed', error: { type: 'EXECUTION' } });
    expect(seen.length).toBeLessThan(items.length);
  });
});

describe('try scope and return', () => {
  //   guard: try [p] (an expression error) catch [c] ; guard --> ret --> never
  const guarded: WorkflowDefinition = {
    name: 'guarded',
    nodes: [
      { id: 'guard', type: 'try', config: { try: ['p'], catch: ['c'] } },
      { id: 'p', type: 'transform', config: { expression: '$error("probe failed")' } },
      { id: 'c', type: 'transform', config: { expression: 'nodes.guard.error.message' } },
      { id: 'ret', type: 'return', config: { value: '{{ nodes.guard }}' } },
      { id: 'never', type: 'transform', config: { expression: '1' } },
    ],
    edges: [
      { from: 'guard', to: 'ret' },
      { from: 'ret', to: 'never' },
    ],
  };

  it('returns the try outcome as the execution output; the node after return skips', async () => {
    const workflow = compileTestWorkflow(guarded, registry);
    const { outcome, settled } = await runRecordingSettles(workflow);
    expect(outcome).toMatchObject({
      status: 'success',
      returned: true,
      nodeId: 'ret',
      output: { ok: false, error: { type: 'EXPRESSION' } },
    });
    expect(settled.get('never')).toBe('skipped');
    // without onScopedSettled, members go through onSettled
    expect(settled.get('c')).toBe('success');
  });

  it('lets nodes after a try read its members, and a return inside a scope end the run', async () => {
    //   guard: try [inner] ; guard --> after (reads nodes.inner)
    //   loop (foreach): body [stop (return item)]   -- ends the run at the first item
    const workflow = compileTestWorkflow(
      {
        name: 'visible',
        nodes: [
          { id: 'guard', type: 'try', config: { try: ['inner'] } },
          { id: 'inner', type: 'transform', config: { expression: '41 + 1' } },
          { id: 'after', type: 'transform', config: { expression: 'nodes.inner' } },
          { id: 'loop', type: 'foreach', config: { items: '[nodes.after]', body: ['stop'] } },
          { id: 'stop', type: 'return', config: { value: '{{ item }}' } },
        ],
        edges: [
          { from: 'guard', to: 'after' },
          { from: 'after', to: 'loop' },
        ],
      },
      registry,
    );
    const { outcome, settled } = await runRecordingSettles(workflow);
    expect(outcome).toMatchObject({
      status: 'success',
      returned: true,
      nodeId: 'stop',
      output: 42,
    });
    expect(settled.get('loop')).toBe('cancelled');
  });

  it('records the lists a return inside a try never reached as skipped (nothing vanishes)', async () => {
    //   g: try [r (return "early")] catch [c] finally [fin] ; g --> after
    const workflow = compileTestWorkflow(
      {
        name: 'return-in-try',
        nodes: [
          { id: 'g', type: 'try', config: { try: ['r'], catch: ['c'], finally: ['fin'] } },
          { id: 'r', type: 'return', config: { value: 'early' } },
          { id: 'c', type: 'transform', config: { expression: '1' } },
          { id: 'fin', type: 'transform', config: { expression: '2' } },
          { id: 'after', type: 'transform', config: { expression: '3' } },
        ],
        edges: [{ from: 'g', to: 'after' }],
      },
      registry,
    );
    const { outcome, settled } = await runRecordingSettles(workflow);
    expect(outcome).toMatchObject({ status: 'success', returned: true, output: 'early' });
    expect(Object.fromEntries(settled)).toEqual({
      r: 'success',
      c: 'skipped',
      fin: 'skipped',
      g: 'cancelled',
      after: 'skipped',
    });
  });

  it('reruns no finished member of a try on a resume', async () => {
    //   guard: try [p] catch [c]   -- p failed before the crash; only catch runs now
    const workflow = compileTestWorkflow(
      {
        name: 'resumed-try',
        nodes: [
          { id: 'guard', type: 'try', config: { try: ['p'], catch: ['c'] } },
          { id: 'p', type: 'code', config: {} },
          { id: 'c', type: 'transform', config: { expression: 'nodes.guard.error.message' } },
        ],
      },
      registry,
    );
    const failed = { status: 'failed', error: { type: 'EXECUTION', message: 'before' } } as const;
    const resumed = new Map([[-1, new Map<string, NodeState>([['p', failed]])]]);
    seen.length = 0;
    const outcome = await withNodeDeps(registry, { maxOutputBytes: 1 << 20 }, (d) =>
      runDag(d, dagRequest(workflow, { resumed })),
    );
    expect(seen).toEqual([]);
    expect(outcome).toMatchObject({
      status: 'success',
      output: { guard: { ok: false, error: { type: 'EXECUTION', message: 'before' } } },
    });
  });
});
