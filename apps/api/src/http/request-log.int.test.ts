import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@linkflow/telemetry';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';
import { openStream, refusalOf, wsBase } from '../testing/ws-client.ts';

/** Everything the API's logger writes, at every level. */
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    lines.push(
      ...chunk
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    );
    done();
  },
});

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness({
    logger: createLogger({ level: 'trace', name: 'api-log-test', destination: sink }),
  });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => h.close());

describe('API request logs', () => {
  it('never contain an API key: not the Authorization header, not a ?token= value', async () => {
    // ARRANGE: keys used as a header, as a stream token, and a wrong one.
    const readKey = await h.keyFor(['executions:read']);
    const wf = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json();
    const id = (await h.request('POST', '/api/executions', { body: { workflow_id: wf.id } })).json()
      .id as string;
    const url = `${wsBase(h.app)}/api/executions/${id}/logs/stream`;
    // ACT
    await h.request('GET', `/api/executions/${id}/logs`, { key: readKey });
    await h.request('GET', `/api/executions/${id}/logs?token=${readKey}`, { key: null });
    const client = await openStream(`${url}?after=0&token=${readKey}`);
    client.ws.close();
    await client.closed;
    expect((await refusalOf(`${url}?token=lf_wrong_secret_value`)).status).toBe(401);
    expect((await refusalOf(url, { authorization: `Bearer ${readKey}x` })).status).toBe(401);
    // ASSERT: the lines are there (with redacted URLs), the secrets are not.
    const text = lines.join('\n');
    expect(text).toContain('/logs/stream?after=0&token=[REDACTED]"');
    expect(text).toContain('/logs?token=[REDACTED]"');
    expect(lines.filter((l) => l.includes('"url":"/api/executions/')).length).toBeGreaterThan(3);
    for (const secret of [readKey, h.adminKey, 'lf_wrong_secret_value'])
      expect(text).not.toContain(secret);
  });
});
