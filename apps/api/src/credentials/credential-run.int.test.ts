import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { createApiHarness, TEST_SECRETS_KEY, type ApiHarness } from '../testing/api-harness.ts';
import { spawnExecutor, stopExecutor } from '../testing/executor-process.ts';
import { openStream, wsBase } from '../testing/ws-client.ts';

// The whole path through the API: a credential created over REST, a workflow that sends it
// to a server echoing its headers, an execution run by a real executor process, watched over
// the WebSocket log stream. The value is in none of the answers or messages.

let h: ApiHarness;
let target: TestServer;
let executor: ChildProcess;
const VALUE = `tok-${randomUUID()}`;

beforeAll(async () => {
  h = await createApiHarness();
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  target = await startTestServer();
  executor = spawnExecutor(h.queue.name, 'credentials', {
    ...process.env,
    LINKFLOW_SECRETS_KEY: TEST_SECRETS_KEY,
  });
});
afterAll(async () => {
  await stopExecutor(executor);
  await target.close();
  await h.close();
});

describe('a credential used by a run', () => {
  it('reaches the server and no API answer, log or WebSocket message; the use is counted', async () => {
    const created = await h.request('POST', '/api/credentials', {
      body: { name: 'api', data: { token: VALUE } },
    });
    expect(created.statusCode).toBe(201);
    const wf = await h.request('POST', '/api/workflows', {
      body: {
        name: 'echo',
        nodes: [
          {
            id: 'call',
            type: 'http',
            config: {
              url: `${target.url}/echo`,
              headers: { 'x-custom': '{{ secrets.api.token }}' },
            },
          },
        ],
      },
    });
    expect(wf.statusCode).toBe(201);
    const started = await h.request('POST', '/api/executions', {
      body: { workflow_id: wf.json<{ id: string }>().id },
    });
    const executionId = started.json<{ id: string }>().id;
    const client = await openStream(`${wsBase(h.app)}/api/executions/${executionId}/logs/stream`, {
      authorization: `Bearer ${h.adminKey}`,
    });
    await client.closed;
    expect(client.messages.at(-1)).toEqual({ kind: 'end', status: 'success' });
    const execution = await h.request('GET', `/api/executions/${executionId}`);
    const logs = await h.request('GET', `/api/executions/${executionId}/logs`);
    // The server got the value; the stored output shows it redacted.
    expect(execution.body).toContain('"x-custom":"[redacted]"');
    for (const text of [JSON.stringify(client.messages), execution.body, logs.body])
      expect(text).not.toContain(VALUE);
    const credential = await h.request('GET', '/api/credentials/api');
    expect(credential.json()).toMatchObject({ use_count: 1, workflows: [{ name: 'echo' }] });
    expect(credential.json<{ last_used_at: string | null }>().last_used_at).not.toBeNull();
    expect(credential.body).not.toContain(VALUE);
  });
});
