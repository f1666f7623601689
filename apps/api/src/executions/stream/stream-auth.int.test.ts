import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../../testing/api-harness.ts';
import { openStream, refusalOf, wsBase } from '../../testing/ws-client.ts';

let h: ApiHarness;
let executionId: string;
let base: string;
beforeAll(async () => {
  h = await createApiHarness();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = wsBase(h.app);
  const wf = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json();
  const started = await h.request('POST', '/api/executions', { body: { workflow_id: wf.id } });
  executionId = started.json<{ id: string }>().id;
});
afterAll(async () => h.close());

const path = (id = executionId, query = '') => `/api/executions/${id}/logs/stream${query}`;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('WS /api/executions/:id/logs/stream refusals (before 101)', () => {
  it('answers 401 problem+json without a key or with an unknown one', async () => {
    const none = await refusalOf(base + path());
    expect(none.status).toBe(401);
    expect(none.contentType).toContain('application/problem+json');
    expect(none.body).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect((await refusalOf(base + path(), bearer('lf_nope'))).status).toBe(401);
    expect((await refusalOf(base + path(executionId, '?token=lf_nope'))).status).toBe(401);
  });

  it('answers 403 to a key without executions:read', async () => {
    const key = await h.keyFor(['workflows:read']);
    const refusal = await refusalOf(base + path(), bearer(key));
    expect(refusal.status).toBe(403);
    expect(refusal.body).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('answers 403 to a browser origin not on the allow-list', async () => {
    const refusal = await refusalOf(base + path(), {
      ...bearer(h.adminKey),
      origin: 'https://evil.example',
    });
    expect(refusal.status).toBe(403);
    expect(refusal.body).toMatchObject({ code: 'ORIGIN_NOT_ALLOWED' });
  });

  it('answers 404 to an unknown execution and to another tenant’s', async () => {
    const unknown = await refusalOf(
      base + path('0190f3c4-0000-7000-8000-000000000000'),
      bearer(h.adminKey),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'NOT_FOUND' });
    const otherKey = await h.keyFor(['executions:read'], await h.newTenant());
    expect((await refusalOf(base + path(), bearer(otherKey))).status).toBe(404);
  });

  it('answers 400 to a bad after', async () => {
    for (const after of ['abc', '-1', '1.5', '99999999999']) {
      const refusal = await refusalOf(
        base + path(executionId, `?after=${after}`),
        bearer(h.adminKey),
      );
      expect(refusal.status, after).toBe(400);
      expect(refusal.body).toMatchObject({ code: 'INVALID_REQUEST' });
    }
  });

  it('answers a plain GET (no upgrade) with 400 problem+json', async () => {
    const res = await h.request('GET', path());
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'UPGRADE_REQUIRED' });
  });
});

describe('WS stream acceptance', () => {
  it('accepts the key as a token query parameter, from an allowed origin', async () => {
    const key = await h.keyFor(['executions:read']);
    const client = await openStream(base + path(executionId, `?token=${key}`), {
      origin: 'https://app.example',
    });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    client.ws.close();
    await client.closed;
  });

  it('accepts its own origin (the Host it was reached at), and refuses `null`', async () => {
    const own = base.replace(/^ws/, 'http');
    const client = await openStream(base + path(), { ...bearer(h.adminKey), origin: own });
    client.ws.close();
    await client.closed;
    const sandboxed = await refusalOf(base + path(), { ...bearer(h.adminKey), origin: 'null' });
    expect(sandboxed.status).toBe(403);
    const extension = own.replace(/^http/, 'chrome-extension');
    const notAPage = await refusalOf(base + path(), { ...bearer(h.adminKey), origin: extension });
    expect(notAPage.status).toBe(403);
    const otherPort = own.replace(/:(\d+)$/, (_, p: string) => `:${Number(p) + 1}`);
    const sibling = await refusalOf(base + path(), { ...bearer(h.adminKey), origin: otherPort });
    expect(sibling.status).toBe(403);
  });

  it('accepts a bearer header without an Origin (not a browser), also through injectWS', async () => {
    const client = await openStream(base + path(), bearer(h.adminKey));
    client.ws.close();
    await client.closed;
    const injected = await h.app.injectWS(path(), { headers: bearer(h.adminKey) });
    injected.terminate();
  });
});
