import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../../testing/api-harness.ts';
import { openStream, refusalOf, wsBase, type StreamClient } from '../../testing/ws-client.ts';

// API_WS_MAX_STREAMS_PER_TENANT: one tenant cannot hold more open streams on a process.

let h: ApiHarness;
let base: string;
let path: string;
beforeAll(async () => {
  h = await createApiHarness({ ws: { maxStreamsPerTenant: 2 } });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  base = wsBase(h.app);
  const wf = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json();
  const started = await h.request('POST', '/api/executions', { body: { workflow_id: wf.id } });
  path = `/api/executions/${started.json<{ id: string }>().id}/logs/stream`;
});
afterAll(async () => h.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('open streams per tenant', () => {
  it('refuses the stream past the limit with 429 before 101, and takes one once a slot frees', async () => {
    const open: StreamClient[] = [];
    for (let i = 0; i < 2; i++) open.push(await openStream(base + path, bearer(h.adminKey)));
    // ACT: a third one
    const refusal = await refusalOf(base + path, bearer(h.adminKey));
    // ASSERT
    expect(refusal.status).toBe(429);
    expect(refusal.contentType).toContain('application/problem+json');
    expect(refusal.body).toMatchObject({ status: 429, code: 'TOO_MANY_STREAMS' });
    // another tenant is not affected
    const other = await h.keyFor(['admin'], await h.newTenant());
    const wf = (
      await h.request('POST', '/api/workflows', { body: sampleWorkflow(), key: other })
    ).json();
    const theirs = (
      await h.request('POST', '/api/executions', { body: { workflow_id: wf.id }, key: other })
    ).json<{ id: string }>().id;
    const elsewhere = await openStream(
      base + `/api/executions/${theirs}/logs/stream`,
      bearer(other),
    );
    expect(elsewhere.ws.readyState).toBe(elsewhere.ws.OPEN);
    // a slot frees when a stream closes
    open[0]?.ws.close();
    await open[0]?.closed;
    const again = await openStream(base + path, bearer(h.adminKey));
    expect(again.ws.readyState).toBe(again.ws.OPEN);
    for (const c of [again, open[1], elsewhere]) {
      c?.ws.close();
      await c?.closed;
    }
  });
});
