import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE_CARD, type NodeState, type RateCard } from '@linkflow/domain';
import { Type } from '@sinclair/typebox';
import {
  abortError,
  createNodeRegistry,
  createTransformNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import { compileTestWorkflow, dagRequest, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { runDag, type SettledWithoutRun } from './dag-runner.ts';
import type { NodeRunResult } from './node-runner.ts';

/** Every node run costs exactly 0.01 USD, whatever it used. */
const flatCard: RateCard = {
  ...DEFAULT_RATE_CARD,
  per_node_run: 0.01,
  per_wall_ms: 0,
  per_cpu_ms: 0,
  per_byte_stored: 0,
};

const registry = createNodeRegistry([createTransformNode()]);

//   a ──▶ b ──▶ c  (transforms), budget `max_cost`
const chain = (maxCost: string) =>
  compileTestWorkflow(
    {
      name: 'w',
      nodes: ['a', 'b', 'c'].map((id) => ({ id, type: 'transform', config: { expression: '1' } })),
      edges: [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
      settings: { max_cost: maxCost },
    },
    registry,
  );

async function run(maxCost: string, resumed: { states?: Map<string, NodeState>; spent?: bigint }) {
  const settled = new Map<string, NodeRunResult | SettledWithoutRun>();
  const states = resumed.states ?? new Map<string, NodeState>();
  const outcome = await withNodeDeps(registry, { slots: 4, maxOutputBytes: 1024 }, (deps) =>
    runDag(
      { ...deps, rateCard: flatCard },
      dagRequest(chain(maxCost), {
        states,
        ...(resumed.spent === undefined ? {} : { spentUnits: resumed.spent }),
        onSettled: (id, result) => {
          settled.set(id, result);
          return Promise.resolve();
        },
      }),
    ),
  );
  return { outcome, settled, states };
}

describe('runDag budget (settings.max_cost)', () => {
  it('does not start the node once the settled nodes cost the budget', async () => {
    // ACT: a and b cost 0.01 each; the budget is 0.02
    const { outcome, settled, states } = await run('0.02', {});
    // ASSERT: c never ran, it ends cancelled with the BUDGET error
    const message = "node c not started: the execution's cost reached its budget of 0.02 USD";
    expect(outcome).toEqual({
      status: 'failed',
      error: { type: 'BUDGET', message, node_id: 'c' },
    });
    expect(settled.get('a')).toMatchObject({ status: 'success', cost: '0.01000000' });
    expect(settled.get('b')).toMatchObject({ status: 'success', cost: '0.01000000' });
    expect(settled.get('c')).toEqual({ status: 'cancelled', error: { type: 'BUDGET', message } });
    expect(states.get('c')?.status).toBe('cancelled');
  });

  it('runs every node while the total stays under the budget', async () => {
    // ACT: three nodes at 0.01 against 0.02000001
    const { outcome, settled } = await run('0.02000001', {});
    // ASSERT
    expect(outcome.status).toBe('success');
    expect([...settled.values()].map((r) => r.status)).toEqual(['success', 'success', 'success']);
  });

  it('counts what the checkpoints of an earlier attempt cost on a resume', async () => {
    // ARRANGE: a settled before the crash and cost 0.015 (1_500_000 units of 1e-8 USD)
    const states = new Map<string, NodeState>([['a', { status: 'success', output: 1 }]]);
    // ACT: budget 0.025: b (0.01) brings the total to 0.025, so c does not start
    const { outcome, settled } = await run('0.025', { states, spent: 1_500_000n });
    // ASSERT
    expect(outcome).toMatchObject({ status: 'failed', error: { type: 'BUDGET', node_id: 'c' } });
    expect([...settled.keys()]).toEqual(['b', 'c']);
  });

  it('starts nothing when the checkpoints already reached the budget', async () => {
    const states = new Map<string, NodeState>([['a', { status: 'success', output: 1 }]]);
    const { outcome, settled } = await run('0.01', { states, spent: 1_000_000n });
    expect(outcome).toMatchObject({ status: 'failed', error: { type: 'BUDGET', node_id: 'b' } });
    expect(settled.get('b')).toMatchObject({ status: 'cancelled', error: { type: 'BUDGET' } });
    expect(settled.get('c')).toMatchObject({ status: 'cancelled', error: { type: 'BUDGET' } });
  });
});

describe('runDag budget with a node in flight', () => {
  it('cancels the running sibling when the budget stops the next node', async () => {
    //   a ──▶ c   (transforms)     hang (http, ends only when aborted)
    const hang: NodeDefinition<never> = {
      type: 'http',
      version: 1,
      configSchema: Type.Object({}),
      rawFields: [],
      execute: (ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(abortError(ctx.signal))),
        ),
    };
    const withHang = createNodeRegistry([createTransformNode(), hang]);
    const workflow = compileTestWorkflow(
      {
        name: 'w',
        nodes: [
          { id: 'a', type: 'transform', config: { expression: '1' } },
          { id: 'hang', type: 'http', config: {} },
          { id: 'c', type: 'transform', config: { expression: '2' } },
        ],
        edges: [{ from: 'a', to: 'c' }],
        settings: { max_cost: '0.01' },
      },
      withHang,
    );
    const settled = new Map<string, string>();
    // ACT: a costs 0.01, the whole budget, while hang is still running
    const outcome = await withNodeDeps(withHang, { slots: 4, maxOutputBytes: 1024 }, (deps) =>
      runDag(
        { ...deps, rateCard: flatCard },
        dagRequest(workflow, {
          onSettled: (id, r) => {
            settled.set(id, r.status);
            return Promise.resolve();
          },
        }),
      ),
    );
    // ASSERT: c did not start, hang was cancelled
    expect(outcome).toMatchObject({ status: 'failed', error: { type: 'BUDGET', node_id: 'c' } });
    expect(Object.fromEntries(settled)).toEqual({
      a: 'success',
      hang: 'cancelled',
      c: 'cancelled',
    });
  });
});

describe('runDag rate card', () => {
  it('prices node runs with the rate card it is given', async () => {
    // ACT: the same workflow, without a budget, with the default card and a custom one
    const workflow = compileTestWorkflow(
      { name: 'w', nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }] },
      registry,
    );
    const costs: string[] = [];
    const record = (_id: string, r: NodeRunResult | SettledWithoutRun) => {
      if ('cost' in r) costs.push(r.cost);
      return Promise.resolve();
    };
    await withNodeDeps(registry, { slots: 1, maxOutputBytes: 1024 }, async (deps) => {
      await runDag({ ...deps, rateCard: flatCard }, dagRequest(workflow, { onSettled: record }));
      await runDag(
        { ...deps, rateCard: { ...flatCard, per_node_run: 2.5 } },
        dagRequest(workflow, { onSettled: record }),
      );
    });
    // ASSERT
    expect(costs).toEqual(['0.01000000', '2.50000000']);
  });
});
