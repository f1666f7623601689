import { describe, expect, it } from 'vitest';
import { fakeCatalog } from '../testing/fake-catalog.ts';
import { accessProblems, validateWorkflow } from './validate-workflow.ts';
import { UNSTORABLE_TEXT_MESSAGE } from '../config/storable-text.ts';

const catalog = fakeCatalog();
const t = (id: string, expression = '1') => ({ id, type: 'transform', config: { expression } });

function problems(def: unknown) {
  const result = validateWorkflow(def, catalog);
  return result.ok ? [] : result.error;
}

describe('validateWorkflow', () => {
  it('accepts the documented example', () => {
    const def = {
      name: 'order-sync',
      nodes: [
        {
          id: 'fetch',
          type: 'http',
          config: { method: 'GET', url: 'https://shop.example/orders/{{ input.order_id }}' },
          retry: {
            max_attempts: 3,
            backoff: 'exponential',
            initial_delay_ms: 200,
            max_delay_ms: 5000,
          },
          timeout_ms: 5000,
        },
        { id: 'big', type: 'condition', config: { expression: 'nodes.fetch.body.total > 100' } },
        {
          id: 'save',
          type: 'db',
          config: {
            connection: 'main',
            query: 'insert into orders(id,total) values ($1,$2)',
            params: ['{{ nodes.fetch.body.id }}'],
          },
        },
        { id: 'note', type: 'transform', config: { expression: "{ 'small': true }" } },
      ],
      edges: [
        { from: 'fetch', to: 'big' },
        { from: 'big', to: 'save', when: 'true' },
        { from: 'big', to: 'note', when: 'false' },
      ],
      settings: { timeout_ms: 60000, max_concurrency: 10, fail_fast: true },
    };
    expect(validateWorkflow(def, catalog).ok).toBe(true);
  });

  it('reports schema violations with their paths', () => {
    const found = problems({
      name: '',
      nodes: [{ id: '1bad', type: 'transform', config: {} }],
      extra: 1,
    });
    const paths = found.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['/name', '/nodes/0/id', '/extra']));
  });

  it('accepts a node circuit_breaker block and names each bad field', () => {
    const node = (circuit_breaker: unknown) => ({ ...t('a'), circuit_breaker });
    const ok = { error_percent: 80, volume: 2, reset_ms: 500, window_ms: 60_000 };
    expect(validateWorkflow({ name: 'w', nodes: [node(ok)] }, catalog).ok).toBe(true);
    expect(validateWorkflow({ name: 'w', nodes: [node({})] }, catalog).ok).toBe(true);
    const paths = problems({
      name: 'w',
      nodes: [node({ error_percent: 0, volume: 0, reset_ms: 5, window_ms: 'long', other: 1 })],
    }).map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/nodes/0/circuit_breaker/error_percent',
        '/nodes/0/circuit_breaker/volume',
        '/nodes/0/circuit_breaker/reset_ms',
        '/nodes/0/circuit_breaker/window_ms',
        '/nodes/0/circuit_breaker/other',
      ]),
    );
  });

  it('reports a missing body as a root problem', () => {
    expect(problems(null)[0]?.path).toBe('/');
  });

  it('accepts hyphenated node ids, reachable in expressions with backticks', () => {
    const def = {
      name: 'w',
      nodes: [t('fetch-order'), t('use_it', 'nodes.`fetch-order` + 1')],
      edges: [{ from: 'fetch-order', to: 'use_it' }],
    };
    expect(problems(def)).toEqual([]);
    expect(problems({ name: 'w', nodes: [t('-lead')] }).map((p) => p.path)).toEqual([
      '/nodes/0/id',
    ]);
  });

  it('names duplicate node ids', () => {
    expect(problems({ name: 'w', nodes: [t('a'), t('a')] })).toEqual([
      { path: '/nodes/1/id', message: "duplicate node id 'a'" },
    ]);
  });

  it('names an unknown node type with the enabled ones', () => {
    const [p] = problems({ name: 'w', nodes: [{ id: 'a', type: 'ftp', config: {} }] });
    expect(p?.path).toBe('/nodes/0/type');
    expect(p?.message).toContain("unknown node type 'ftp'");
    expect(p?.message).toContain('http');
  });

  it('names dangling edges at both ends', () => {
    const found = problems({
      name: 'w',
      nodes: [t('a')],
      edges: [
        { from: 'x', to: 'a' },
        { from: 'a', to: 'y' },
      ],
    });
    expect(found.map((p) => p.path)).toEqual(['/edges/0/from', '/edges/1/to']);
  });

  it('names duplicate edges', () => {
    const found = problems({
      name: 'w',
      nodes: [t('a'), t('b')],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'a', to: 'b' },
      ],
    });
    expect(found).toEqual([{ path: '/edges/1', message: 'duplicate edge a -> b' }]);
  });

  it('names the nodes of a cycle', () => {
    const found = problems({
      name: 'w',
      nodes: [t('start'), t('a'), t('b'), t('c')],
      edges: [
        { from: 'start', to: 'a' },
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'a' },
      ],
    });
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toBe('/edges');
    expect(found[0]?.message).toMatch(/^cycle: /);
    for (const id of ['a', 'b', 'c']) expect(found[0]?.message).toContain(id);
    expect(found[0]?.message).not.toContain('start');
  });

  it('treats a self-loop as a cycle', () => {
    expect(
      problems({ name: 'w', nodes: [t('a')], edges: [{ from: 'a', to: 'a' }] })[0]?.message,
    ).toBe('cycle: a -> a');
  });

  it("rejects 'when' on an edge whose source is not a condition", () => {
    const found = problems({
      name: 'w',
      nodes: [t('a'), t('b')],
      edges: [{ from: 'a', to: 'b', when: 'true' }],
    });
    expect(found[0]).toEqual({
      path: '/edges/0/when',
      message: "'when' needs a condition or router source, but 'a' is transform",
    });
  });

  it('prefixes config problems with the node path', () => {
    const found = problems({ name: 'w', nodes: [{ id: 'h', type: 'http', config: {} }] });
    expect(found).toEqual([{ path: '/nodes/0/config/url', message: 'must be a string' }]);
  });

  it('rejects {{ }} inside a db query', () => {
    const found = problems({
      name: 'w',
      nodes: [{ id: 'd', type: 'db', config: { query: 'select {{ input.x }}' } }],
    });
    expect(found[0]?.path).toBe('/nodes/0/config/query');
  });

  it('rejects an expression that does not parse', () => {
    const found = problems({ name: 'w', nodes: [t('a', 'nodes.(')] });
    expect(found[0]?.path).toBe('/nodes/0/config/expression');
    expect(found[0]?.message).toContain('expression does not parse');
  });

  it('rejects a template whose expression does not parse', () => {
    const found = problems({
      name: 'w',
      nodes: [{ id: 'h', type: 'http', config: { url: 'http://x/{{ ) }}' } }],
    });
    expect(found[0]?.path).toBe('/nodes/0/config/url');
  });

  it('rejects an unclosed template', () => {
    const found = problems({
      name: 'w',
      nodes: [{ id: 'h', type: 'http', config: { url: 'http://x/{{ input.a' } }],
    });
    expect(found[0]?.message).toContain('unclosed');
  });

  it('names every problem at once', () => {
    const found = problems({
      name: 'w',
      nodes: [t('a'), t('a'), { id: 'z', type: 'nope', config: {} }],
      edges: [{ from: 'a', to: 'q' }],
    });
    expect(found.length).toBeGreaterThanOrEqual(3);
  });

  it('names a cycle beside a duplicate id or a dangling edge', () => {
    //   b ⇄ c, c defined twice, and b → zz (no such node)
    const found = problems({
      name: 'w',
      nodes: [t('b'), t('c'), t('c')],
      edges: [
        { from: 'b', to: 'c' },
        { from: 'c', to: 'b' },
        { from: 'b', to: 'zz' },
      ],
    });
    expect(found).toEqual([
      { path: '/nodes/2/id', message: "duplicate node id 'c'" },
      { path: '/edges/2/to', message: "unknown node id 'zz'" },
      { path: '/edges', message: expect.stringMatching(/^cycle: (b -> c -> b|c -> b -> c)$/) },
    ]);
  });

  it('names the problems beside a schema violation: missing config, unknown type, bad expression, bad when', () => {
    //   a (no config)   b (type bogus) → c (expression "(")  with when: true
    const found = problems({
      name: 'w',
      nodes: [{ id: 'a', type: 'transform' }, { id: 'b', type: 'bogus', config: {} }, t('c', '(')],
      edges: [{ from: 'b', to: 'c', when: 'true' }],
    });
    expect(found.map((p) => p.path)).toEqual([
      '/nodes/0/config',
      '/nodes/1/type',
      '/nodes/2/config/expression',
      '/edges/0/when',
    ]);
  });

  it('names an unknown type and a dangling edge beside a node without a type', () => {
    const found = problems({
      name: 'w',
      nodes: [
        { id: 'a', config: {} },
        { id: 'b', type: 'nope', config: {} },
      ],
      edges: [{ from: 'b', to: 'zz' }],
    });
    expect(found.map((p) => p.path)).toEqual(['/nodes/0/type', '/nodes/1/type', '/edges/0/to']);
  });

  it('stops at the schema when nodes or edges cannot be read', () => {
    expect(problems({ name: 'w', nodes: 'a' }).map((p) => p.path)).toEqual(['/nodes']);
    const found = problems({ name: 'w', nodes: [t('a'), { id: 7, type: 'x' }] });
    expect(found.every((p) => p.path.startsWith('/nodes/1'))).toBe(true);
    const edges = problems({ name: 'w', nodes: [t('a'), t('a')], edges: [{ from: 1, to: 'a' }] });
    expect(edges.map((p) => p.path)).toEqual(['/edges/0/from']);
  });

  it('answers a definition past the node or edge limits with the schema problems alone', () => {
    const nodes = Array.from({ length: 1_001 }, (_, i) => ({
      id: `n${i}`,
      type: 'nope',
      config: {},
    }));
    expect(problems({ name: 'w', nodes }).map((p) => p.path)).toEqual(['/nodes']);
  });

  it('validates a 1,000-deep chain of nested scopes (each check linear in the depth)', () => {
    //   s0: foreach [s1], s1: try [s2], s2: foreach [s3], …   (when a check walked every chain
    //   once per node and scope, 600 such nodes took 34 s; this test would time out)
    const nodes = Array.from({ length: 1_000 }, (_, i) => {
      const next = i < 999 ? [`s${i + 1}`] : [];
      return i % 2 === 0
        ? { id: `s${i}`, type: 'foreach', config: { items: '[1]', max_items: 1, body: next } }
        : { id: `s${i}`, type: 'try', config: { try: next } };
    });
    const found = problems({ name: 'w', nodes });
    expect(found).toContainEqual({
      path: '/nodes/2',
      message: "foreach 's2' is inside the body of foreach 's0' (nested loops are not supported)",
    });
  });

  it('keeps the answer small: at most 100 problems, route lists and messages cut', () => {
    const routes = Array.from({ length: 50 }, (_, i) => ({
      name: `route-${i}`,
      expression: 'true',
    }));
    const found = problems({
      name: 'w',
      nodes: [{ id: 'r', type: 'router', config: { routes } }, t('c')],
      edges: Array.from({ length: 300 }, (_, i) => ({ from: 'r', to: 'c', when: `z${i}` })),
    });
    expect(found).toHaveLength(101);
    expect(found.at(-1)).toEqual({
      path: '/',
      message: expect.stringMatching(/^… and \d+ more problems$/),
    });
    expect(found[0]?.message).toContain('route-9, … 40 more');
    const long = problems({ name: 'w', nodes: [{ id: 'a', type: 'x'.repeat(5_000), config: {} }] });
    expect(long.every((p) => p.message.length <= 1_001)).toBe(true);
  });

  it('caps the schema problems too, reading no further than the cap', () => {
    //   300,000 empty nodes (a 1 MiB body): a million schema errors if all were read
    const found = problems({ name: 'x', nodes: Array.from({ length: 300_000 }, () => ({})) });
    expect(found).toHaveLength(101);
    expect(found.at(-1)).toEqual({ path: '/', message: '… and more problems' });
    const longIds = problems({
      name: 'x',
      nodes: [{ id: 'a'.repeat(500), type: 'nope', config: {} }],
    });
    expect(longIds.map((p) => p.path)).toEqual(['/nodes/0/id']);
  });

  it('checks 5,000 when edges against a 50,000-route router once per router', () => {
    const routes = Array.from({ length: 50_000 }, (_, i) => ({
      name: `r${i}`,
      expression: 'true',
    }));
    const found = problems({
      name: 'w',
      nodes: [{ id: 'r', type: 'router', config: { routes } }, t('c')],
      edges: Array.from({ length: 5_000 }, (_, i) => ({ from: 'r', to: 'c', when: `r${i}` })),
    });
    // every edge names a route; only the 4,999 duplicates of r -> c are problems (capped)
    expect(found).toHaveLength(101);
    expect(found[0]).toEqual({ path: '/edges/1', message: 'duplicate edge r -> c' });
  });

  it('reads only string route names (a crafted name does not throw)', () => {
    const found = problems({
      name: 'w',
      nodes: [{ id: 'r', type: 'router', config: { routes: [{ name: { toString: 1 } }] } }, t('c')],
      edges: [{ from: 'r', to: 'c', when: 'x' }],
    });
    expect(found.map((p) => p.path)).toEqual(['/edges/0/when']);
  });

  it('names an empty type once', () => {
    expect(problems({ name: 'w', nodes: [{ id: 'a', type: '', config: {} }] })).toEqual([
      { path: '/nodes/0/type', message: expect.any(String) },
    ]);
  });

  it('refuses NUL characters and lone surrogates, which cannot be stored, naming the field', () => {
    const message = UNSTORABLE_TEXT_MESSAGE;
    expect(problems({ name: 'n\u0000', nodes: [t('a')] })).toEqual([{ path: '/name', message }]);
    expect(problems({ name: 'a\ud800', nodes: [t('a')] })).toEqual([{ path: '/name', message }]);
    expect(problems({ name: 'w', nodes: [t('a', '"x\udc00"')] })).toEqual([
      { path: '/nodes/0/config/expression', message },
    ]);
    expect(problems({ name: 'ok', nodes: [t('a', '"a\\u0000b"')] })).toEqual([]);
    expect(problems({ name: 'ok \ud83d\ude00', nodes: [t('a')] })).toEqual([]);
  });

  it('refuses node ids plain objects inherit', () => {
    for (const id of ['__proto__', 'constructor', 'prototype']) {
      expect(problems({ name: 'w', nodes: [t(id)] }).map((p) => p.path)).toEqual(['/nodes/0/id']);
    }
    expect(problems({ name: 'w', nodes: [t('__proto__x'), t('proto')] })).toEqual([]);
  });

  it('does not let __proto__ keys pollute objects', () => {
    const def = JSON.parse(
      '{"name":"w","nodes":[{"id":"a","type":"transform","config":{"expression":"1","__proto__":{"polluted":true}}}]}',
    ) as unknown;
    validateWorkflow(def, catalog);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('names a db connection the tenant may not use, only when a tenant is given', () => {
    const def = {
      name: 'w',
      nodes: [t('a'), { id: 'd', type: 'db', config: { connection: 'acme', query: 'select 1' } }],
    };
    const forbidden = [
      { path: '/nodes/1/config/connection', message: 'not allowed for this tenant' },
    ];
    expect(validateWorkflow(def, catalog, { tenant: { id: 'x', name: 'dev' } })).toEqual({
      ok: false,
      error: forbidden,
    });
    expect(validateWorkflow(def, catalog, { tenant: { id: 'y', name: 'acme' } }).ok).toBe(true);
    expect(validateWorkflow(def, catalog).ok).toBe(true);
    expect(accessProblems(def as never, catalog, { id: 'acme' })).toEqual([]);
    expect(accessProblems(def as never, catalog, { id: 'z' })).toEqual(forbidden);
  });
});
