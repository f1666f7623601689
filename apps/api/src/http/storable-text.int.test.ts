import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

const problem = (res: { statusCode: number; headers: Record<string, unknown> }) => {
  expect(res.headers['content-type']).toContain('application/problem+json');
  return res.statusCode;
};

describe('text Postgres cannot store', () => {
  it('answers 404 for ids holding NUL, control characters or lone surrogates', async () => {
    const wf = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json<{
      id: string;
    }>();
    for (const id of ['%00', 'a%00b', 'x%0A', wf.id + '%00']) {
      for (const [method, url] of [
        ['GET', `/api/workflows/${id}`],
        ['DELETE', `/api/workflows/${id}`],
        ['GET', `/api/executions/${id}`],
        ['GET', `/api/executions/${id}/logs`],
        ['POST', `/api/executions/${id}/cancel`],
      ] as const) {
        const res = await h.request(method, url);
        expect({ url, status: problem(res) }).toEqual({ url, status: 404 });
      }
    }
    const put = await h.request('PUT', '/api/workflows/%00', { body: sampleWorkflow() });
    expect(problem(put)).toBe(404);
    // A lone surrogate cannot be percent-encoded as valid UTF-8: the URL itself is malformed.
    expect(problem(await h.request('GET', '/api/workflows/%ED%A0%80'))).toBe(400);
  });

  it('answers 400 naming a query parameter with NUL or a lone surrogate', async () => {
    for (const url of [
      '/api/executions?workflow_id=%00',
      '/api/workflows?cursor=a%00',
      '/api/executions/x/logs?q=%00',
    ]) {
      const res = await h.request('GET', url);
      expect(problem(res)).not.toBe(500);
      expect([400, 404]).toContain(res.statusCode);
    }
    const res = await h.request('GET', '/api/executions?workflow_id=%00');
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('/query/workflow_id');
  });

  it('answers 400 naming body fields with lone surrogates and writes nothing', async () => {
    const wf = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json<{
      id: string;
    }>();
    const cases: [string, string, unknown][] = [
      ['/api/executions', '/input_data/a', { workflow_id: wf.id, input_data: { a: 'x\ud800' } }],
      [
        '/api/executions',
        '/input_data/\udc00',
        { workflow_id: wf.id, input_data: { '\udc00': 1 } },
      ],
      ['/api/executions', '/idempotency_key', { workflow_id: wf.id, idempotency_key: 'a\u0000b' }],
      ['/api/workflows', '/name', { ...sampleWorkflow(), name: 'a\ud800' }],
    ];
    for (const [url, path, body] of cases) {
      const res = await h.request('POST', url, { body });
      expect({ path, status: problem(res) }).toEqual({ path, status: 400 });
      expect(res.json().errors[0].path).toBe(path);
    }
  });

  it('answers an id over the router limit with a problem+json 404', async () => {
    const res = await h.request('GET', `/api/executions/${'a'.repeat(5_000)}`);
    expect(problem(res)).toBe(404);
    expect(res.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});
