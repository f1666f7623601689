import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

/** Above 2^31-1 ms a Node timer fires after 1 ms, so every timeout must be capped below it. */
const OVERFLOW_MS = 2 ** 31;

const paths = (body: { errors?: { path: string }[] }) => (body.errors ?? []).map((e) => e.path);

function httpWorkflow(patch: { node?: object; config?: object; settings?: object }) {
  return {
    name: 'timeouts',
    nodes: [
      {
        id: 'fetch',
        type: 'http',
        config: { url: 'https://shop.example/orders', ...patch.config },
        ...patch.node,
      },
    ],
    ...(patch.settings ? { settings: patch.settings } : {}),
  };
}

describe('timeout maxima', () => {
  it('refuses an http node config timeout_ms past 24 h naming the field', async () => {
    const res = await h.request('POST', '/api/workflows', {
      body: httpWorkflow({ config: { timeout_ms: OVERFLOW_MS } }),
    });
    expect([400, 422]).toContain(res.statusCode);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(paths(res.json())).toContain('/nodes/0/config/timeout_ms');
    const ok = await h.request('POST', '/api/workflows', {
      body: httpWorkflow({ config: { timeout_ms: 86_400_000 } }),
    });
    expect(ok.statusCode).toBe(201);
  });

  it('refuses node and settings timeout_ms and retry delays at 2^31 ms naming each field', async () => {
    const res = await h.request('POST', '/api/workflows', {
      body: httpWorkflow({
        node: {
          timeout_ms: OVERFLOW_MS,
          retry: { max_attempts: 2, initial_delay_ms: OVERFLOW_MS, max_delay_ms: OVERFLOW_MS },
        },
        settings: { timeout_ms: OVERFLOW_MS },
      }),
    });
    expect([400, 422]).toContain(res.statusCode);
    expect(paths(res.json())).toEqual(
      expect.arrayContaining([
        '/nodes/0/timeout_ms',
        '/nodes/0/retry/initial_delay_ms',
        '/nodes/0/retry/max_delay_ms',
        '/settings/timeout_ms',
      ]),
    );
  });

  it('refuses timeout_seconds past 7 days on PUT /api/executions/:id/timeout', async () => {
    const wf = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json<{
      id: string;
    }>();
    const e = (await h.request('POST', '/api/executions', { body: { workflow_id: wf.id } })).json<{
      id: string;
    }>();
    const res = await h.request('PUT', `/api/executions/${e.id}/timeout`, {
      body: { timeout_seconds: OVERFLOW_MS / 1000 },
    });
    expect(res.statusCode).toBe(400);
    expect(paths(res.json())).toContain('/timeout_seconds');
  });
});
