import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAuth } from '../auth/auth.ts';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness({ bodyLimit: 64 * 1024 });
});
afterAll(async () => h.close());

const count = async (table: string) =>
  Number((await h.db.pool.query(`select count(*) from ${table}`)).rows[0].count);

describe('authentication and scopes', () => {
  it('answers 401 problem+json without a key or with an unknown key', async () => {
    for (const key of [null, 'lf_not-a-key']) {
      const res = await h.request('GET', '/api/workflows', { key });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({
        status: 401,
        title: 'Unauthorized',
        code: 'UNAUTHORIZED',
      });
    }
    const malformed = await h.request('GET', '/api/workflows', {
      key: null,
      headers: { authorization: 'Basic abc' },
    });
    expect(malformed.statusCode).toBe(401);
  });

  it('answers 403 when the key lacks the scope', async () => {
    const reader = await h.keyFor(['executions:read']);
    const res = await h.request('POST', '/api/workflows', { key: reader, body: sampleWorkflow() });
    expect(res.statusCode).toBe(403);
    expect(res.json().detail).toContain('workflows:write');
    expect(
      (await h.request('POST', '/api/executions', { key: reader, body: { workflow_id: 'x' } }))
        .statusCode,
    ).toBe(403);
  });

  it('lets workflows:read read but not write, and executions:write start', async () => {
    const wfReader = await h.keyFor(['workflows:read']);
    expect((await h.request('GET', '/api/workflows', { key: wfReader })).statusCode).toBe(200);
    const wf = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json<{
      id: string;
    }>();
    const starter = await h.keyFor(['executions:write']);
    expect(
      (await h.request('POST', '/api/executions', { key: starter, body: { workflow_id: wf.id } }))
        .statusCode,
    ).toBe(202);
  });

  it("hides another tenant's workflows and executions behind 404", async () => {
    const wf = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json<{
      id: string;
    }>();
    const e = (await h.request('POST', '/api/executions', { body: { workflow_id: wf.id } })).json<{
      id: string;
    }>();
    const stranger = await h.keyFor(['admin'], await h.newTenant());
    for (const [method, url] of [
      ['GET', `/api/workflows/${wf.id}`],
      ['DELETE', `/api/workflows/${wf.id}`],
      ['GET', `/api/executions/${e.id}`],
      ['POST', `/api/executions/${e.id}/cancel`],
    ] as const) {
      expect((await h.request(method, url, { key: stranger })).statusCode).toBe(404);
    }
    expect(
      (await h.request('PUT', `/api/workflows/${wf.id}`, { key: stranger, body: sampleWorkflow() }))
        .statusCode,
    ).toBe(404);
    expect(
      (await h.request('POST', '/api/executions', { key: stranger, body: { workflow_id: wf.id } }))
        .statusCode,
    ).toBe(404);
    expect((await h.request('GET', '/api/executions', { key: stranger })).json().items).toEqual([]);
  });

  it('fails start-up when an /api route declares no scope (deny by default)', async () => {
    const app = Fastify();
    installAuth(app, { authenticate: () => Promise.resolve(undefined) });
    expect(() => app.get('/api/open', () => 'x')).toThrow(/declares no scope/);
    await app.close();
  });
});

describe('bad input', () => {
  it('answers 400 for malformed JSON', async () => {
    const res = await h.request('POST', '/api/workflows', { body: '{"name": ' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().detail).not.toMatch(/at .*\.js/);
  });

  it('answers 413 for a body over the limit and writes nothing', async () => {
    const before = await count('workflows');
    const big = { ...sampleWorkflow(), name: 'x'.repeat(70 * 1024) };
    const res = await h.request('POST', '/api/workflows', { body: big });
    expect(res.statusCode).toBe(413);
    expect(res.json().status).toBe(413);
    expect(await count('workflows')).toBe(before);
  });

  it('answers 415 for a non-JSON body', async () => {
    const res = await h.request('POST', '/api/workflows', {
      body: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.statusCode).toBe(415);
  });

  it('rejects __proto__ and constructor keys without polluting anything', async () => {
    const before = await count('workflows');
    const res = await h.request('POST', '/api/workflows', {
      body: '{"name":"p","nodes":[{"id":"a","type":"transform","config":{"expression":"1"}}],"__proto__":{"polluted":true}}',
    });
    expect(res.statusCode).toBe(400);
    const ctor = await h.request('POST', '/api/executions', {
      body: '{"workflow_id":"x","input_data":{"constructor":{"prototype":{"polluted":true}}}}',
    });
    expect(ctor.statusCode).toBe(400);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(await count('workflows')).toBe(before);
  });

  it('answers problem+json 404 for unknown routes', async () => {
    const res = await h.request('GET', '/api/nothing-here');
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
  });
});

describe('health, metrics and docs', () => {
  it('answers liveness and readiness without a key', async () => {
    expect((await h.request('GET', '/health/live', { key: null })).json()).toEqual({
      status: 'ok',
    });
    expect((await h.request('GET', '/health/ready', { key: null })).json()).toEqual({
      status: 'ok',
      checks: { postgres: 'ok', redis: 'ok', redis_policy: 'ok' },
    });
  });

  it('serves Prometheus metrics: linkflow_* and unprefixed process metrics', async () => {
    await h.request('GET', '/health/live', { key: null });
    const res = await h.request('GET', '/metrics', { key: null });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('linkflow_http_requests_total');
    expect(res.body).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it('serves an OpenAPI 3.1 document', async () => {
    const res = await h.request('GET', '/docs/json', { key: null });
    expect(res.json().openapi).toBe('3.1.0');
    expect(Object.keys(res.json().paths)).toEqual(
      expect.arrayContaining(['/api/workflows', '/api/executions', '/api/executions/{id}/cancel']),
    );
  });
});
