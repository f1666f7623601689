import { describe, expect, it } from 'vitest';
import { buildScopedDags, type ScopedDags } from '../workflow/scoped-dag.ts';
import type { EdgeSpec, NodeSpec } from '../workflow/definition-schema.ts';
import { planNextSteps, type NodeState } from './plan.ts';
import {
  isRegionSettled,
  iterationWidth,
  regionResult,
  settleAfterReturn,
  tryOutput,
} from './scope-plan.ts';

const t = (id: string): NodeSpec => ({ id, type: 'transform', config: { expression: '1' } });
function scoped(nodes: NodeSpec[], edges: EdgeSpec[]): ScopedDags {
  const result = buildScopedDags(nodes, edges);
  if (!result.ok) throw new TypeError('test graph has a cycle');
  return result.value;
}
const states = (entries: Record<string, NodeState>) => new Map(Object.entries(entries));

describe('router edges', () => {
  it('takes the edge of the chosen route and skips the others', () => {
    //          route
    //  "a" /    |"b"   \ "other"
    //     x     y       z
    const g = scoped(
      [{ id: 'route', type: 'router', config: {} }, t('x'), t('y'), t('z')],
      [
        { from: 'route', to: 'x', when: 'a' },
        { from: 'route', to: 'y', when: 'b' },
        { from: 'route', to: 'z', when: 'other' },
      ],
    ).main;
    // ACT
    const plan = planNextSteps(g, states({ route: { status: 'success', output: { route: 'b' } } }));
    // ASSERT
    expect(plan).toEqual({ run: ['y'], skip: ['x', 'z'], cancel: [] });
  });

  it('skips every branch when no route matched and there is no default', () => {
    //   route --"a"--> x
    const g = scoped(
      [{ id: 'route', type: 'router', config: {} }, t('x')],
      [{ from: 'route', to: 'x', when: 'a' }],
    ).main;
    const plan = planNextSteps(
      g,
      states({ route: { status: 'success', output: { route: null } } }),
    );
    expect(plan.skip).toEqual(['x']);
  });
});

describe('buildScopedDags', () => {
  it('keeps scope members out of the main DAG and orders them inside their region', () => {
    //   src --> loop --> after          loop.body: [b1 --> b2]
    const g = scoped(
      [
        t('src'),
        { id: 'loop', type: 'foreach', config: { items: 'input', body: ['b1', 'b2'] } },
        t('after'),
        t('b1'),
        t('b2'),
      ],
      [
        { from: 'src', to: 'loop' },
        { from: 'loop', to: 'after' },
        { from: 'b1', to: 'b2' },
      ],
    );
    expect(g.main.order).toEqual(['src', 'loop', 'after']);
    expect(g.regions.get('loop/body')?.order).toEqual(['b1', 'b2']);
    expect(g.regions.get('loop/body')?.sinks).toEqual(['b2']);
    expect(g.regionOf.get('b2')).toEqual({ scope: 'loop', list: 'body' });
  });

  it('gives a try one region per list, empty ones included', () => {
    //   guard  try: [a]   catch: [c]   finally: []
    const g = scoped(
      [{ id: 'guard', type: 'try', config: { try: ['a'], catch: ['c'] } }, t('a'), t('c')],
      [],
    );
    expect(g.main.order).toEqual(['guard']);
    expect([...g.regions.keys()]).toEqual(['guard/try', 'guard/catch', 'guard/finally']);
    expect(g.regions.get('guard/finally')?.order).toEqual([]);
  });

  it('reports a cycle inside a scope', () => {
    //   loop.body: [a <--> b]
    const result = buildScopedDags(
      [{ id: 'loop', type: 'foreach', config: { items: 'x', body: ['a', 'b'] } }, t('a'), t('b')],
      [
        { from: 'a', to: 'b' },
        { from: 'b', to: 'a' },
      ],
    );
    expect(result.ok).toBe(false);
  });
});

describe('regionResult', () => {
  //   a --> b   (one sink)          c   (second sink in the two-sink case)
  const one = scoped([t('a'), t('b')], [{ from: 'a', to: 'b' }]).main;
  const two = scoped([t('a'), t('c')], []).main;

  it('is the only sink output when the region has one sink', () => {
    const r = regionResult(
      one,
      states({ a: { status: 'success', output: 1 }, b: { status: 'success', output: 2 } }),
    );
    expect(r).toEqual({ ok: true, value: 2 });
  });

  it('keys the outputs by sink id when the region has several', () => {
    const r = regionResult(
      two,
      states({ a: { status: 'success', output: 1 }, c: { status: 'success', output: 3 } }),
    );
    expect(r).toEqual({ ok: true, value: { a: 1, c: 3 } });
  });

  it('is null for an empty region', () => {
    const empty = scoped([{ id: 'g', type: 'try', config: { try: [] } }], []).regions.get('g/try');
    expect(empty && regionResult(empty, new Map())).toEqual({ ok: true, value: null });
  });

  it('is the failed member error, and undefined while a member runs', () => {
    const error = { type: 'EXECUTION', message: 'boom' } as const;
    expect(regionResult(one, states({ a: { status: 'running' } }))).toBeUndefined();
    expect(isRegionSettled(one, states({ a: { status: 'running' } }))).toBe(false);
    const r = regionResult(
      one,
      states({ a: { status: 'failed', error }, b: { status: 'cancelled' } }),
    );
    expect(r).toEqual({ ok: false, error: { ...error, node_id: 'a' } });
  });

  it('is a failure when a member ended cancelled', () => {
    const r = regionResult(
      one,
      states({
        a: { status: 'success', output: 1 },
        b: { status: 'cancelled', error: { type: 'CANCELLATION', message: 'x' } },
      }),
    );
    expect(r).toEqual({ ok: false, error: { type: 'CANCELLATION', message: 'x', node_id: 'b' } });
  });
});

describe('scope helpers', () => {
  it('runs one iteration at a time unless parallel, then max_parallel within max_concurrency', () => {
    expect(iterationWidth({ parallel: false, maxParallel: 5, maxConcurrency: 10 })).toBe(1);
    expect(iterationWidth({ parallel: true, maxParallel: 5, maxConcurrency: 10 })).toBe(5);
    expect(iterationWidth({ parallel: true, maxParallel: 50, maxConcurrency: 10 })).toBe(10);
  });

  it('skips unstarted nodes and cancels running ones after a return', () => {
    //   a --> ret      b --> c
    const g = scoped(
      [t('a'), { id: 'ret', type: 'return', config: {} }, t('b'), t('c')],
      [
        { from: 'a', to: 'ret' },
        { from: 'b', to: 'c' },
      ],
    ).main;
    const s = states({
      a: { status: 'success' },
      ret: { status: 'success' },
      b: { status: 'running' },
    });
    expect(settleAfterReturn(g, s)).toEqual({ skip: ['c'], cancel: ['b'] });
  });

  it('shapes the try output', () => {
    expect(tryOutput(null)).toEqual({ ok: true, error: null });
    const error = { type: 'EXECUTION', message: 'x' } as const;
    expect(tryOutput(error)).toEqual({ ok: false, error });
  });
});
