import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../testing/api-harness.ts';
import type { Scope } from '../auth/auth.ts';

let h: ApiHarness;
let noKey: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
  noKey = await createApiHarness({ secretsKeys: { current: undefined, previous: undefined } });
});
afterAll(async () => Promise.all([h.close(), noKey.close()]));

const VALUE = `tok-${randomUUID()}`;

const httpWorkflow = (headers: Record<string, string>, name = 'uses-api') => ({
  name,
  nodes: [
    { id: 'call', type: 'http', config: { method: 'GET', url: 'https://x.example', headers } },
  ],
});

async function create(name: string, data: Record<string, unknown> = { token: VALUE }) {
  return h.request('POST', '/api/credentials', { body: { name, data } });
}

describe('credential routes', () => {
  it('creates, lists, reads, rotates and deletes a credential without ever answering a value', async () => {
    const created = await create('api');
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/api/credentials/api');
    expect(created.json()).toMatchObject({
      name: 'api',
      keys: ['token'],
      use_count: 0,
      last_used_at: null,
    });
    expect((await create('api')).statusCode).toBe(409);

    const list = await h.request('GET', '/api/credentials');
    expect(list.json<{ items: { name: string }[] }>().items.map((c) => c.name)).toContain('api');
    const one = await h.request('GET', '/api/credentials/api');
    expect(one.json()).toMatchObject({ name: 'api', keys: ['token'], workflows: [] });

    const rotated = await h.request('PUT', '/api/credentials/api', {
      body: { data: { token: `${VALUE}-2`, user: 'bob1' } },
    });
    expect(rotated.statusCode).toBe(200);
    expect(rotated.json()).toMatchObject({ keys: ['token', 'user'] });
    for (const res of [created, list, one, rotated]) expect(res.body).not.toContain(VALUE);

    const raw = await h.db.pool.query(
      `select row_to_json(c)::text as text from credentials c where tenant_id = $1 and name = 'api'`,
      [h.tenantId],
    );
    expect(raw.rows[0].text).not.toContain(VALUE);
    expect((await h.request('DELETE', '/api/credentials/api')).statusCode).toBe(204);
    expect((await h.request('GET', '/api/credentials/api')).statusCode).toBe(404);
    expect(
      (await h.request('PUT', '/api/credentials/api', { body: { data: { a: 'bbbb' } } }))
        .statusCode,
    ).toBe(404);
    expect((await h.request('DELETE', '/api/credentials/api')).statusCode).toBe(404);
  });

  it('pages the list by name with an opaque cursor', async () => {
    const tenant = await h.newTenant();
    const key = await h.keyFor(['admin'], tenant);
    for (const n of ['p-a', 'p-b', 'p-c'])
      await h.request('POST', '/api/credentials', { key, body: { name: n, data: { k: 'vvvv' } } });
    const first = (await h.request('GET', '/api/credentials?limit=2', { key })).json<{
      items: { name: string }[];
      next_cursor: string | null;
    }>();
    expect(first.items.map((c) => c.name)).toEqual(['p-a', 'p-b']);
    const second = (
      await h.request('GET', `/api/credentials?limit=2&cursor=${first.next_cursor ?? ''}`, { key })
    ).json<{ items: { name: string }[]; next_cursor: string | null }>();
    expect(second).toMatchObject({ items: [{ name: 'p-c' }], next_cursor: null });
  });

  it('applies the scope matrix: credentials:write (or admin) writes, workflows:read reads', async () => {
    const expectations: [Scope[], number, number][] = [
      [['credentials:write'], 201, 403],
      [['admin'], 201, 200],
      [['workflows:read'], 403, 200],
      [['workflows:write', 'executions:write'], 403, 403],
    ];
    for (const [scopes, write, read] of expectations) {
      const key = await h.keyFor(scopes);
      const name = `s-${randomUUID().slice(0, 8)}`;
      const post = await h.request('POST', '/api/credentials', {
        key,
        body: { name, data: { t: 'abcd' } },
      });
      expect(post.statusCode, scopes.join()).toBe(write);
      expect((await h.request('GET', '/api/credentials', { key })).statusCode, scopes.join()).toBe(
        read,
      );
      if (write === 403) continue;
      expect(
        (await h.request('PUT', `/api/credentials/${name}`, { key, body: { data: { t: 'efgh' } } }))
          .statusCode,
      ).toBe(200);
      expect((await h.request('DELETE', `/api/credentials/${name}`, { key })).statusCode).toBe(204);
    }
    const reader = await h.keyFor(['workflows:read']);
    await create('guarded');
    expect(
      (
        await h.request('PUT', '/api/credentials/guarded', {
          key: reader,
          body: { data: { t: 'x123' } },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (await h.request('DELETE', '/api/credentials/guarded', { key: reader })).statusCode,
    ).toBe(403);
    expect((await h.request('GET', '/api/credentials', { key: null })).statusCode).toBe(401);
  });

  it('keeps tenants apart: another tenant sees 404 and may reuse the name', async () => {
    await create('mine');
    const other = await h.keyFor(['admin'], await h.newTenant());
    expect((await h.request('GET', '/api/credentials/mine', { key: other })).statusCode).toBe(404);
    expect(
      (
        await h.request('PUT', '/api/credentials/mine', {
          key: other,
          body: { data: { t: 'abcd' } },
        })
      ).statusCode,
    ).toBe(404);
    expect((await h.request('DELETE', '/api/credentials/mine', { key: other })).statusCode).toBe(
      404,
    );
    expect((await h.request('GET', '/api/credentials', { key: other })).json()).toEqual({
      items: [],
      next_cursor: null,
    });
    const reuse = await h.request('POST', '/api/credentials', {
      key: other,
      body: { name: 'mine', data: { t: 'abcd' } },
    });
    expect(reuse.statusCode).toBe(201);
    // A workflow of the other tenant cannot reference this tenant's credential.
    const wf = await h.request('POST', '/api/workflows', {
      key: other,
      body: httpWorkflow({ a: '{{ secrets.only-here.t }}' }),
    });
    expect(wf.statusCode).toBe(422);
  });

  it('answers 400 naming the field for bad input', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'Bad.Name', data: { t: 'abcd' } }, '/name'],
      [{ name: 'x'.repeat(65), data: { t: 'abcd' } }, '/name'],
      [{ name: 'ok', data: { t: 1 } }, '/data/t'],
      [{ name: 'ok', data: {} }, '/data'],
      [{ name: 'ok', data: 'abc' }, '/data'],
      [{ name: 'ok', data: { t: '' } }, '/data/t'],
      [{ name: 'ok', data: { pin: '123' } }, '/data/pin'],
      [
        {
          name: 'ok',
          data: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v'])),
        },
        '/data',
      ],
      [{ name: 'ok', data: { t: 'x'.repeat(64 * 1024) } }, '/data'],
      [{ name: 'ok' }, '/data'],
    ];
    for (const [body, path] of cases) {
      const res = await h.request('POST', '/api/credentials', { body });
      expect(res.statusCode, path).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(
        res.json<{ errors: { path: string }[] }>().errors.map((e) => e.path),
        path,
      ).toContain(path);
    }
    const put = await h.request('PUT', '/api/credentials/UPPER', { body: { data: { t: 'abcd' } } });
    expect(put.statusCode).toBe(400);
  });

  it('refuses to delete a credential the latest version of a workflow references (409)', async () => {
    await create('ref');
    const wf = await h.request('POST', '/api/workflows', {
      body: httpWorkflow({ authorization: 'Bearer {{ secrets.ref.token }}' }, 'ref-user'),
    });
    expect(wf.statusCode).toBe(201);
    const id = wf.json<{ id: string }>().id;
    expect((await h.request('GET', '/api/credentials/ref')).json()).toMatchObject({
      workflows: [{ id, name: 'ref-user' }],
    });
    const refused = await h.request('DELETE', '/api/credentials/ref');
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'CREDENTIAL_IN_USE' });
    expect(refused.json<{ detail: string }>().detail).toContain(id);
    await h.request('PUT', `/api/workflows/${id}`, { body: httpWorkflow({}, 'ref-user') });
    expect((await h.request('DELETE', '/api/credentials/ref')).statusCode).toBe(204);
  });

  it('validates references at workflow create and PUT (422 naming the credential, key or node)', async () => {
    await create('known');
    const unknown = await h.request('POST', '/api/workflows', {
      body: httpWorkflow({ a: '{{ secrets.unknown.token }}', b: '{{ secrets.known.nokey }}' }),
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json<{ errors: { message: string }[] }>().errors.map((e) => e.message)).toEqual([
      "node 'call': unknown credential 'unknown'",
      "node 'call': credential 'known' has no key 'nokey'",
    ]);
    const wf = await h.request('POST', '/api/workflows', {
      body: httpWorkflow({ a: '{{ secrets.known.token }}' }),
    });
    expect(wf.statusCode).toBe(201);
    const leak = {
      name: 'leak',
      nodes: [
        { id: 'copy', type: 'transform', config: { expression: "$lookup($, 'secrets')" } },
        { id: 'js', type: 'code', config: { source: 'return secrets' } },
        { id: 'if', type: 'condition', config: { expression: 'secrets.known.token = "x"' } },
      ],
    };
    const put = await h.request('PUT', `/api/workflows/${wf.json<{ id: string }>().id}`, {
      body: leak,
    });
    expect(put.statusCode).toBe(422);
    const messages = put.json<{ errors: { message: string }[] }>().errors.map((e) => e.message);
    expect(messages).toEqual([
      "node 'copy': secrets are not available to transform nodes",
      "node 'js': secrets are not available to code nodes",
      "node 'if': secrets are not available to condition nodes",
    ]);
  });

  it('answers 503 on writes without LINKFLOW_SECRETS_KEY, and still serves reads', async () => {
    const res = await noKey.request('POST', '/api/credentials', {
      body: { name: 'k', data: { t: VALUE } },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'SECRETS_KEY_MISSING' });
    expect(res.json<{ detail: string }>().detail).toContain('LINKFLOW_SECRETS_KEY');
    expect((await noKey.request('GET', '/api/credentials')).statusCode).toBe(200);
    const raw = await noKey.db.pool.query(
      'select count(*)::int as n from credentials where tenant_id = $1',
      [noKey.tenantId],
    );
    expect(raw.rows[0]).toEqual({ n: 0 });
  });
});
