import { describe, expect, it } from 'vitest';
import { fakeCatalog } from '../testing/fake-catalog.ts';
import { validateWorkflow } from './validate-workflow.ts';

const catalog = fakeCatalog();
const t = (id: string) => ({ id, type: 'transform', config: { expression: '1' } });
const loop = (id: string, body: unknown[]) => ({
  id,
  type: 'foreach',
  config: { items: 'input.list', body },
});
const guard = (id: string, lists: Record<string, unknown[]>) => ({
  id,
  type: 'try',
  config: lists,
});

function problems(nodes: unknown[], edges: unknown[] = []) {
  const result = validateWorkflow({ name: 'w', nodes, edges }, catalog);
  return result.ok ? [] : result.error;
}

describe('validateWorkflow scopes', () => {
  it('accepts a foreach and a try with edges inside their lists and into the scope nodes', () => {
    //  src --> each --> g          each.body: [a --> b]     g.try: [x]  g.catch: [y]
    const found = problems(
      [t('src'), loop('each', ['a', 'b']), guard('g', { try: ['x'], catch: ['y'] })].concat([
        t('a'),
        t('b'),
        t('x'),
        t('y'),
      ]),
      [
        { from: 'src', to: 'each' },
        { from: 'each', to: 'g' },
        { from: 'a', to: 'b' },
      ],
    );
    expect(found).toEqual([]);
  });

  it('names a subworkflow node inside a scope (subworkflows run in the main DAG only)', () => {
    //  each.body: [call]    (call: subworkflow)
    const call = { id: 'call', type: 'subworkflow', config: { workflow_id: 'wf_x' } };
    const found = problems([loop('each', ['call']), call]).filter((p) => p.path === '/nodes/1');
    expect(found).toEqual([
      {
        path: '/nodes/1',
        message: expect.stringContaining("subworkflow 'call' is in each/body") as unknown,
      },
    ]);
  });

  it('names a foreach whose max_items x body passes the node-run ceiling, and accepts a lower max_items', () => {
    //  each.body: [a, b, c, d, e, f, g, h, i, j, k]   (11 nodes x 10,000 items > 100,000)
    const body = 'abcdefghijk'.split('');
    const nodes = [loop('each', body), ...body.map(t)];
    expect(problems(nodes)).toEqual([
      {
        path: '/nodes/0/config/max_items',
        message: expect.stringContaining(
          '10000 items × 11 body nodes = 110000 node runs',
        ) as unknown,
      },
    ]);
    const lower = {
      ...loop('each', body),
      config: { ...loop('each', body).config, max_items: 9000 },
    };
    expect(problems([lower, ...body.map(t)])).toEqual([]);
  });

  it('names a scope list entry that is no node', () => {
    expect(problems([loop('each', ['ghost'])])).toEqual([
      { path: '/nodes/0/config/body/0', message: "unknown node id 'ghost'" },
    ]);
  });

  it('names a node listed in two scopes', () => {
    const found = problems([loop('each', ['a']), guard('g', { catch: ['a'] }), t('a')]);
    expect(found).toEqual([
      { path: '/nodes/1/config/catch/0', message: "'a' is already in scope each/body" },
    ]);
  });

  it('names a node listed twice in the lists of one try', () => {
    const found = problems([guard('g', { try: ['a'], finally: ['a'] }), t('a')]);
    expect(found).toEqual([
      { path: '/nodes/0/config/finally/0', message: "'a' is already in scope g/try" },
    ]);
  });

  it('names a scope that contains itself', () => {
    expect(problems([loop('each', ['each'])])).toEqual([
      { path: '/nodes/0/config/body/0', message: "scope 'each' contains itself" },
    ]);
  });

  it('names a cycle of scopes once, at its first member, listing at most 10 of them', () => {
    //  g1.try: [g2]    g2.try: [g1]
    const found = problems([guard('g1', { try: ['g2'] }), guard('g2', { try: ['g1'] })]);
    expect(found).toEqual([{ path: '/nodes/0/config', message: 'scope cycle: g1 -> g2 -> g1' }]);
    //  c0.try: [c1] … c999.try: [c0]   (each member used to repeat the whole cycle: 1 GB)
    const ring = Array.from({ length: 1_000 }, (_, i) =>
      guard(`c${i}`, { try: [`c${(i + 1) % 1_000}`] }),
    );
    expect(problems(ring)).toEqual([
      {
        path: '/nodes/0/config',
        message:
          'scope cycle: c0 -> c999 -> c998 -> c997 -> c996 -> c995 -> c994 -> c993 -> c992 -> c991 -> … (991 more)',
      },
    ]);
  });

  it('names an edge from outside into a member, and one between two lists of a try', () => {
    //  src --> a (in each.body)        x (g.try) --> y (g.catch)
    const found = problems(
      [t('src'), loop('each', ['a']), guard('g', { try: ['x'], catch: ['y'] }), t('a')].concat([
        t('x'),
        t('y'),
      ]),
      [
        { from: 'src', to: 'a' },
        { from: 'x', to: 'y' },
      ],
    );
    expect(found).toEqual([
      {
        path: '/edges/0',
        message:
          'edge src -> a crosses a scope border (src is outside any scope, a is in each/body)',
      },
      {
        path: '/edges/1',
        message: 'edge x -> y crosses a scope border (x is in g/try, y is in g/catch)',
      },
    ]);
  });

  it('names an edge from a member back to its own scope node', () => {
    const found = problems([loop('each', ['a']), t('a')], [{ from: 'a', to: 'each' }]);
    expect(found.map((p) => p.path)).toEqual(['/edges/0']);
  });

  it('names a foreach inside the body of another foreach', () => {
    const found = problems([loop('outer', ['inner']), loop('inner', ['a']), t('a')]);
    expect(found).toEqual([
      {
        path: '/nodes/1',
        message:
          "foreach 'inner' is inside the body of foreach 'outer' (nested loops are not supported)",
      },
    ]);
  });

  it('names a foreach without items', () => {
    const found = problems([{ id: 'each', type: 'foreach', config: { body: [] } }]);
    expect(found).toEqual([{ path: '/nodes/0/config/items', message: 'is required' }]);
  });

  it("names a router 'when' that is no route, and a condition 'when' that is no boolean", () => {
    //  r --"nope"--> a     c --"maybe"--> b
    const router = {
      id: 'r',
      type: 'router',
      config: { routes: [{ name: 'big', expression: 'true' }], default: 'small' },
    };
    const cond = { id: 'c', type: 'condition', config: { expression: 'true' } };
    const found = problems(
      [router, cond, t('a'), t('b'), t('d')],
      [
        { from: 'r', to: 'a', when: 'nope' },
        { from: 'c', to: 'b', when: 'maybe' },
        { from: 'r', to: 'd', when: 'small' },
      ],
    );
    expect(found).toEqual([
      { path: '/edges/0/when', message: "router 'r' has no route 'nope' (routes: big, small)" },
      { path: '/edges/1/when', message: "a condition's 'when' is true or false, got 'maybe'" },
    ]);
  });
});
