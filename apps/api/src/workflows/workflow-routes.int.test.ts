import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

async function createWorkflow(body: unknown = sampleWorkflow()) {
  const res = await h.request('POST', '/api/workflows', { body });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string; version: number; name: string }>();
}

const countWorkflows = async () =>
  Number(
    (await h.db.pool.query('select count(*) from workflows where tenant_id = $1', [h.tenantId]))
      .rows[0].count,
  );

describe('workflow routes', () => {
  it('creates a workflow and returns it with version 1 and a Location', async () => {
    const res = await h.request('POST', '/api/workflows', { body: sampleWorkflow('order-sync') });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      name: 'order-sync',
      version: 1,
      definition: sampleWorkflow('order-sync'),
    });
    expect(typeof body.id).toBe('string');
    expect(new Date(body.created_at).toISOString()).toBe(body.created_at);
    expect(res.headers.location).toBe(`/api/workflows/${body.id}`);
  });

  it('stores a new immutable version on PUT and serves old versions with ?version', async () => {
    const wf = await createWorkflow();
    const put = await h.request('PUT', `/api/workflows/${wf.id}`, {
      body: sampleWorkflow('renamed'),
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ id: wf.id, version: 2, name: 'renamed' });
    expect((await h.request('GET', `/api/workflows/${wf.id}`)).json()).toMatchObject({
      version: 2,
      name: 'renamed',
    });
    expect((await h.request('GET', `/api/workflows/${wf.id}?version=1`)).json()).toMatchObject({
      version: 1,
      name: 'sample',
    });
    expect((await h.request('GET', `/api/workflows/${wf.id}?version=9`)).statusCode).toBe(404);
  });

  it('answers 404 for PUT on an unknown workflow', async () => {
    expect(
      (await h.request('PUT', '/api/workflows/nope', { body: sampleWorkflow() })).statusCode,
    ).toBe(404);
  });

  it('lists workflows newest first with an opaque cursor', async () => {
    const tenant = await h.newTenant();
    const key = await h.keyFor(['workflows:read', 'workflows:write'], tenant);
    for (const name of ['w1', 'w2', 'w3'])
      await h.request('POST', '/api/workflows', { key, body: sampleWorkflow(name) });
    const first = (await h.request('GET', '/api/workflows?limit=2', { key })).json();
    expect(first.items.map((w: { name: string }) => w.name)).toEqual(['w3', 'w2']);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = (
      await h.request('GET', `/api/workflows?limit=2&cursor=${first.next_cursor}`, { key })
    ).json();
    expect(second).toMatchObject({ items: [{ name: 'w1' }], next_cursor: null });
  });

  it('rejects a bad cursor and a limit over 500 with 400', async () => {
    expect((await h.request('GET', '/api/workflows?cursor=garbage')).statusCode).toBe(400);
    const res = await h.request('GET', '/api/workflows?limit=501');
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('/limit');
  });

  it('deletes a workflow (204), after which it is gone (404)', async () => {
    const wf = await createWorkflow();
    expect((await h.request('DELETE', `/api/workflows/${wf.id}`)).statusCode).toBe(204);
    expect((await h.request('GET', `/api/workflows/${wf.id}`)).statusCode).toBe(404);
    expect((await h.request('DELETE', `/api/workflows/${wf.id}`)).statusCode).toBe(404);
  });

  it('refuses to delete a workflow with a pending execution (409)', async () => {
    const wf = await createWorkflow();
    expect(
      (await h.request('POST', '/api/executions', { body: { workflow_id: wf.id } })).statusCode,
    ).toBe(202);
    const res = await h.request('DELETE', `/api/workflows/${wf.id}`);
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('lists the enabled node types with their config schemas', async () => {
    const res = await h.request('GET', '/api/node-types');
    expect(
      res
        .json()
        .items.map((t: { type: string }) => t.type)
        .sort(),
    ).toEqual([
      'code',
      'condition',
      'db',
      'foreach',
      'http',
      'return',
      'router',
      'subworkflow',
      'transform',
      'try',
    ]);
    expect(res.json().items[0].config_schema.type).toBe('object');
  });
});

describe('workflow validation', () => {
  it('answers 422 naming every problem and writes nothing', async () => {
    const before = await countWorkflows();
    const res = await h.request('POST', '/api/workflows', {
      body: {
        name: 'bad',
        nodes: [
          { id: 'a', type: 'transform', config: { expression: '1' } },
          { id: 'a', type: 'transform', config: { expression: '2' } },
          { id: 'f', type: 'ftp', config: {} },
          { id: 'd', type: 'db', config: { connection: 'main', query: 'select {{ input.x }}' } },
          { id: 'e', type: 'transform', config: { expression: 'nodes.(' } },
        ],
        edges: [
          { from: 'a', to: 'ghost' },
          { from: 'a', to: 'e', when: 'true' },
        ],
      },
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const problem = res.json();
    expect(problem).toMatchObject({
      status: 422,
      type: expect.any(String),
      title: expect.any(String),
      detail: expect.any(String),
    });
    const paths = problem.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/nodes/1/id',
        '/nodes/2/type',
        '/nodes/3/config/query',
        '/nodes/4/config/expression',
        '/edges/0/to',
        '/edges/1/when',
      ]),
    );
    expect(await countWorkflows()).toBe(before);
  });

  it('names every scope and route problem of control-flow nodes', async () => {
    const t = (id: string) => ({ id, type: 'transform', config: { expression: '1' } });
    const res = await h.request('POST', '/api/workflows', {
      body: {
        name: 'scopes',
        nodes: [
          { id: 'each', type: 'foreach', config: { items: 'input', body: ['a', 'ghost', 'each'] } },
          { id: 'g', type: 'try', config: { try: ['a'] } },
          { id: 'r', type: 'router', config: { routes: [{ name: 'x', expression: 'true' }] } },
          { id: 'nolist', type: 'foreach', config: { body: [] } },
          t('a'),
          t('b'),
        ],
        edges: [
          { from: 'b', to: 'a' },
          { from: 'r', to: 'b', when: 'y' },
        ],
      },
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const paths = res.json().errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/nodes/0/config/body/1',
        '/nodes/0/config/body/2',
        '/nodes/1/config/try/0',
        '/nodes/3/config/items',
        '/edges/0',
        '/edges/1/when',
      ]),
    );
  });

  it('names the nodes of a cycle', async () => {
    const t = (id: string) => ({ id, type: 'transform', config: { expression: '1' } });
    const res = await h.request('POST', '/api/workflows', {
      body: {
        name: 'c',
        nodes: [t('x'), t('y')],
        edges: [
          { from: 'x', to: 'y' },
          { from: 'y', to: 'x' },
        ],
      },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].message).toMatch(/cycle: (x -> y -> x|y -> x -> y)/);
  });

  it('rejects a config its type schema refuses', async () => {
    const res = await h.request('POST', '/api/workflows', {
      body: {
        name: 'h',
        nodes: [{ id: 'h', type: 'http', config: { method: 'FETCH', url: 'https://x.example' } }],
      },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].path).toBe('/nodes/0/config/method');
  });

  it('rejects starting a stored workflow whose node type is now disabled (422)', async () => {
    const wf = await createWorkflow({
      name: 'uses-code',
      nodes: [{ id: 'c', type: 'code', config: { source: 'return 1' } }],
    });
    const limited = await createApiHarness({ nodeTypes: ['transform'] });
    try {
      const key = await limited.keyFor(['admin'], h.tenantId);
      const res = await limited.request('POST', '/api/executions', {
        key,
        body: { workflow_id: wf.id },
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().errors[0]).toEqual({
        path: '/nodes/0/type',
        message: "node type 'code' is not enabled",
      });
    } finally {
      await limited.close();
    }
  });

  it('rejects a workflow with a disabled node type', async () => {
    const limited = await createApiHarness({ nodeTypes: ['transform'] });
    try {
      const res = await limited.request('POST', '/api/workflows', {
        body: { name: 'x', nodes: [{ id: 'c', type: 'code', config: { source: 'return 1' } }] },
      });
      expect(res.statusCode).toBe(422);
      expect(res.json().errors[0].message).toContain(
        "unknown node type 'code' (enabled: transform)",
      );
    } finally {
      await limited.close();
    }
  });
});
