import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';
import { MAX_JSON_DEPTH } from './json-body.ts';

let h: ApiHarness;
let workflowId: string;
beforeAll(async () => {
  h = await createApiHarness();
  workflowId = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json<{
    id: string;
  }>().id;
});
afterAll(async () => h.close());

/** An array nested `depth` levels deep: `[[[...]]]`. */
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const startBody = (inputData: string) =>
  `{"workflow_id":${JSON.stringify(workflowId)},"input_data":${inputData}}`;

describe('request body depth', () => {
  it('answers 400 problem+json naming input_data when it nests 5,000 deep', async () => {
    const res = await h.request('POST', '/api/executions', { body: startBody(nested(5000)) });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      status: 400,
      code: 'INVALID_REQUEST',
      errors: [{ path: '/input_data', message: expect.stringContaining(`${MAX_JSON_DEPTH}`) }],
    });
  });

  it('answers 400 for a body nested 200,000 deep and for a deep workflow definition', async () => {
    const deep = await h.request('POST', '/api/executions', { body: startBody(nested(200_000)) });
    expect(deep.statusCode).toBe(400);
    const wf = JSON.stringify(sampleWorkflow()).replace(/}$/, `,"extra":${nested(5000)}}`);
    const res = await h.request('POST', '/api/workflows', { body: wf });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([expect.objectContaining({ path: '/extra' })]);
  });

  it('accepts input_data up to the maximum depth', async () => {
    // The body is level 1, so input_data may nest MAX_JSON_DEPTH - 1 levels.
    const res = await h.request('POST', '/api/executions', {
      body: startBody(nested(MAX_JSON_DEPTH - 1)),
    });
    expect(res.statusCode).toBe(202);
    const over = await h.request('POST', '/api/executions', {
      body: startBody(nested(MAX_JSON_DEPTH)),
    });
    expect(over.statusCode).toBe(400);
  });

  it('still refuses prototype poisoning and malformed JSON as before', async () => {
    const proto = await h.request('POST', '/api/executions', {
      body: `{"workflow_id":"x","__proto__":{"a":1}}`,
    });
    expect(proto.statusCode).toBe(400);
    const bad = await h.request('POST', '/api/executions', { body: '{"workflow_id":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('MALFORMED_REQUEST');
  });
});

describe('an empty body sent as application/json', () => {
  const json = { 'content-type': 'application/json' };

  it('is no body: a route that takes none answers as without the header', async () => {
    const res = await h.request('POST', '/api/admin/queue/resume', { body: '', headers: json });
    expect(res.statusCode).toBe(200);
    const gone = await h.request('POST', `/api/executions/${workflowId}/cancel`, {
      body: '',
      headers: json,
    });
    expect(gone.statusCode).toBe(404);
  });

  it('is a missing body where one is needed: 400 problem+json', async () => {
    const res = await h.request('POST', '/api/executions', { body: '', headers: json });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json().code).toBe('INVALID_REQUEST');
  });
});
