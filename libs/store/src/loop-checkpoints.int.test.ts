import { describe, expect, it } from 'vitest';
import type { NodeRunWrite } from '@linkflow/domain';
import { createRunStore } from './run-store.ts';
import { useRunFixture } from './testing/run-fixture.ts';

// node_runs keyed by (execution, node, iteration): a foreach body's runs, one row per item.

//   src (root)   each (foreach, root): body [call]   -- call has no edge in, yet is no root
const fixture = useRunFixture('loop', [
  { id: 'src', type: 'transform', config: { expression: '[1, 2]' } },
  { id: 'each', type: 'foreach', config: { items: 'input', body: ['call'] } },
  { id: 'call', type: 'transform', config: { expression: 'item' } },
]);
const { newExecution } = fixture;

const callRun = (iteration: number): NodeRunWrite => ({
  nodeId: 'call',
  iteration,
  type: 'transform',
  status: 'success',
  attempts: 1,
  startedAt: new Date(),
  finishedAt: new Date(),
  durationMs: 1,
  outputJson: JSON.stringify(iteration),
  outputBytes: 1,
  error: null,
  attemptLog: [],
  usage: null,
  cost: '0',
});

describe('loop checkpoints', () => {
  it('marks the roots running at the claim but never a scope member', async () => {
    const store = createRunStore({ pool: fixture.db().pool });
    const id = await newExecution();
    await store.claim(id, new Date());
    const rows = await fixture
      .db()
      .pool.query<{ node_id: string; iteration: number }>(
        'select node_id, iteration from node_runs where execution_id = $1 order by node_id',
        [id],
      );
    expect(rows.rows).toEqual([
      { node_id: 'each', iteration: -1 },
      { node_id: 'src', iteration: -1 },
    ]);
  });

  it('keeps one row per iteration (batched concurrently) and gives them back at a re-claim', async () => {
    const store = createRunStore({ pool: fixture.db().pool });
    const id = await newExecution();
    const first = await store.claim(id, new Date());
    if (!first.claimed) throw new TypeError('no claim');
    const written = await Promise.all(
      [0, 1, 2].map((i) => store.checkpoint(first.execution.fence, callRun(i), [])),
    );
    expect(written.every((w) => w !== undefined)).toBe(true);
    const again = await store.claim(id, new Date());
    const calls = again.claimed
      ? again.execution.checkpoints.filter((c) => c.nodeId === 'call')
      : [];
    expect(calls.map((c) => [c.iteration, c.output]).sort()).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
  });
});
