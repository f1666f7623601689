import { describe, expect, it } from 'vitest';
import { buildDag, type Dag } from '../workflow/dag.ts';
import type { EdgeSpec } from '../workflow/definition-schema.ts';
import { planNextSteps, summarizeOutcome, type NodeState } from './plan.ts';

function dag(ids: string[], edges: EdgeSpec[]): Dag {
  const result = buildDag(
    ids.map((id) => ({ id, type: 'transform', config: {} })),
    edges,
  );
  if (!result.ok) throw new TypeError('test graph has a cycle');
  return result.value;
}
const states = (entries: Record<string, NodeState>) => new Map(Object.entries(entries));

describe('planNextSteps', () => {
  it('starts every root node', () => {
    //  a   b
    //   \ /
    //    c
    const g = dag(
      ['a', 'b', 'c'],
      [
        { from: 'a', to: 'c' },
        { from: 'b', to: 'c' },
      ],
    );
    expect(planNextSteps(g, new Map())).toEqual({ run: ['a', 'b'], skip: [], cancel: [] });
  });

  it('waits for every parent of a join', () => {
    //  a   b
    //   \ /
    //    c
    const g = dag(
      ['a', 'b', 'c'],
      [
        { from: 'a', to: 'c' },
        { from: 'b', to: 'c' },
      ],
    );
    // ARRANGE: a done, b still running
    const plan = planNextSteps(g, states({ a: { status: 'success' }, b: { status: 'running' } }));
    // ASSERT
    expect(plan.run).toEqual([]);
  });

  it('skips the untaken branch of a condition and runs the taken one', () => {
    //        cond
    //  true /    \ false
    //      yes    no
    const g = dag(
      ['cond', 'yes', 'no'],
      [
        { from: 'cond', to: 'yes', when: 'true' },
        { from: 'cond', to: 'no', when: false },
      ],
    );
    const plan = planNextSteps(
      g,
      states({ cond: { status: 'success', output: { result: true } } }),
    );
    expect(plan).toEqual({ run: ['yes'], skip: ['no'], cancel: [] });
  });

  it('cascades skips through nodes whose parents are all skipped', () => {
    //   cond --true--> x --> y --> z
    const g = dag(
      ['cond', 'x', 'y', 'z'],
      [
        { from: 'cond', to: 'x', when: 'true' },
        { from: 'x', to: 'y' },
        { from: 'y', to: 'z' },
      ],
    );
    const plan = planNextSteps(
      g,
      states({ cond: { status: 'success', output: { result: false } } }),
    );
    expect(plan.skip).toEqual(['x', 'y', 'z']);
  });

  it('runs a join that has at least one finished, non-skipped parent', () => {
    //      cond
    //   t /    \ f
    //    a      b
    //     \    /
    //      join
    const g = dag(
      ['cond', 'a', 'b', 'join'],
      [
        { from: 'cond', to: 'a', when: 'true' },
        { from: 'cond', to: 'b', when: 'false' },
        { from: 'a', to: 'join' },
        { from: 'b', to: 'join' },
      ],
    );
    const plan = planNextSteps(
      g,
      states({
        cond: { status: 'success', output: { result: true } },
        a: { status: 'success' },
        b: { status: 'skipped' },
      }),
    );
    expect(plan.run).toEqual(['join']);
  });

  it('cancels dependants of a failed node', () => {
    //  a --> b --> c
    const g = dag(
      ['a', 'b', 'c'],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
      ],
    );
    const plan = planNextSteps(g, states({ a: { status: 'failed' } }));
    expect(plan).toEqual({ run: [], skip: [], cancel: ['b', 'c'] });
  });

  it('leaves settled and running nodes alone', () => {
    const g = dag(['a', 'b'], []);
    expect(
      planNextSteps(g, states({ a: { status: 'running' }, b: { status: 'success' } })),
    ).toEqual({ run: [], skip: [], cancel: [] });
  });
});

describe('summarizeOutcome', () => {
  //  a --> b      c
  const g = dag(['a', 'b', 'c'], [{ from: 'a', to: 'b' }]);

  it('is undefined while a node is unsettled', () => {
    expect(summarizeOutcome(g, states({ a: { status: 'success' } }))).toBeUndefined();
  });

  it('collects outputs of sinks that did not skip', () => {
    const outcome = summarizeOutcome(
      g,
      states({
        a: { status: 'success', output: 1 },
        b: { status: 'success', output: 2 },
        c: { status: 'skipped' },
      }),
    );
    expect(outcome).toEqual({ status: 'success', output: { b: 2 } });
  });

  it('stores null for a sink without output', () => {
    const outcome = summarizeOutcome(
      g,
      states({ a: { status: 'success' }, b: { status: 'success' }, c: { status: 'success' } }),
    );
    expect(outcome).toEqual({ status: 'success', output: { b: null, c: null } });
  });

  it('fails with the first failed node in order', () => {
    const outcome = summarizeOutcome(
      g,
      states({
        a: { status: 'failed', error: { type: 'TIMEOUT', message: 'slow' } },
        b: { status: 'cancelled' },
        c: { status: 'failed' },
      }),
    );
    expect(outcome).toEqual({
      status: 'failed',
      error: { type: 'TIMEOUT', message: 'slow', node_id: 'a' },
    });
  });

  it('uses a generic error when the failed node recorded none', () => {
    const outcome = summarizeOutcome(
      g,
      states({ a: { status: 'success' }, b: { status: 'success' }, c: { status: 'failed' } }),
    );
    expect(outcome).toEqual({
      status: 'failed',
      error: { type: 'UNKNOWN', message: 'node failed', node_id: 'c' },
    });
  });
});
