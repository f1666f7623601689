import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveSecrets, type WorkflowDefinition } from '@linkflow/domain';
import { createRedis, type Redis } from '@linkflow/queue';
import { createCredentialStore, createSecretCipher } from '@linkflow/store';
import {
  createLogger,
  defaultInstrumentations,
  startTracing,
  type Tracing,
} from '@linkflow/telemetry';
import { testRedisUrl } from '../../../../test/fixtures.ts';
import { loadConfig } from '../config.ts';
import { startExecutor } from '../executor.ts';
import { createExecutorHarness, type ExecutorHarness } from '../testing/executor-harness.ts';

// Credentials through the real executor: an http node authenticates with
// {{ secrets.api.token }} against a local server that checks the header and echoes what it
// receives (in a 200 body, in a 500 body). The value reaches the server and nowhere else:
// not the stored outputs, errors or logs, not pino, not the live events, not a span.

const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('base64');
const VALUE = `s3cr3t-${randomUUID()}`;

interface Target {
  readonly url: string;
  readonly seen: string[];
  close(): Promise<void>;
}

/** `/check`: 200 + the headers back when the bearer is VALUE, else 401; `/fail/*`: 500 + headers. */
async function startTarget(): Promise<Target> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    const body = JSON.stringify({ headers: req.headers, url: req.url });
    const ok = req.url?.startsWith('/check') && req.headers.authorization === `Bearer ${VALUE}`;
    const status = req.url?.startsWith('/fail') ? 500 : ok ? 200 : 401;
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-echo': String(req.headers.authorization),
    });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An executor on `h`'s queue with `keys`, its pino lines collected in `lines`. */
async function executorWith(h: ExecutorHarness, keys: Record<string, string>, lines: string[]) {
  const config = loadConfig({ ...h.env, EXECUTOR_ID: `cred-${randomUUID().slice(0, 8)}`, ...keys });
  const liveSecrets = createLiveSecrets();
  tracing.redactValuesFrom(liveSecrets);
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: 'debug', name: 'cred-test', destination, liveSecrets });
  return startExecutor(config, log, { liveSecrets });
}

let target: Target;
let tracing: Tracing;
const spans: string[] = [];
let events: Redis;
const published: string[] = [];
const pino: string[] = [];
const harnesses: ExecutorHarness[] = [];
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  tracing = startTracing({
    serviceName: 'cred-test',
    instrumentations: defaultInstrumentations(),
    spanProcessors: [
      {
        onStart: () => undefined,
        onEnd: (span) => {
          spans.push(JSON.stringify([span.name, span.attributes, span.events, span.status]));
        },
        forceFlush: () => Promise.resolve(),
        shutdown: () => Promise.resolve(),
      },
    ],
  });
  target = await startTarget();
  events = createRedis(testRedisUrl(), { role: 'subscriber' });
  events.on('pmessage', (_pattern: string, _channel: string, message: string) => {
    published.push(message);
  });
  await events.psubscribe('linkflow:exec:*');
});
afterAll(async () => {
  await Promise.all(stops.map((stop) => stop()));
  await Promise.all(harnesses.map((x) => x.close()));
  events.disconnect();
  await target.close();
  await tracing.shutdown();
});

async function harness(keys: Record<string, string>): Promise<ExecutorHarness> {
  const h = await createExecutorHarness();
  harnesses.push(h);
  const executor = await executorWith(h, keys, pino);
  stops.push(() => executor.stop(1000));
  return h;
}

async function storeCredential(h: ExecutorHarness, data: Record<string, string>) {
  const cipher = createSecretCipher({ current: KEY_A, previous: undefined });
  const store = createCredentialStore({ pool: h.db.pool, ids: { next: randomUUID }, cipher });
  await store.create(h.tenantId, 'api', data);
  return store;
}

const authHeader = { authorization: 'Bearer {{ secrets.api.token }}' };

function leakyWorkflow(url: string): WorkflowDefinition {
  //   auth (200, echoes) ──▶ copy (transform of auth's output)
  //   echo500 (500 accepted, echoes)
  //   fail (500 not accepted; the value in the path and the header)
  return {
    name: 'uses-api',
    nodes: [
      {
        id: 'auth',
        type: 'http',
        config: {
          method: 'GET',
          url: `${url}/check?k={{ secrets.api.token }}`,
          headers: authHeader,
        },
      },
      { id: 'copy', type: 'transform', config: { expression: 'nodes.auth' } },
      {
        id: 'echo500',
        type: 'http',
        config: {
          url: `${url}/fail/echo`,
          headers: { 'x-custom': '{{ secrets.api.token }}' },
          accept_status: ['2xx', 500],
        },
      },
      {
        id: 'fail',
        type: 'http',
        config: {
          url: `${url}/fail/{{ secrets.api.token }}`,
          headers: { 'x-token': '{{ secrets.api.token }}' },
        },
      },
    ],
    edges: [{ from: 'auth', to: 'copy' }],
    settings: { fail_fast: false },
  };
}

async function storedText(h: ExecutorHarness, executionId: string): Promise<string> {
  const rows = await h.db.pool.query<{ t: string }>(
    `select row_to_json(e)::text as t from executions e where id = $1
     union all select row_to_json(n)::text from node_runs n where execution_id = $1
     union all select row_to_json(l)::text from execution_logs l where execution_id = $1`,
    [executionId],
  );
  return rows.rows.map((r) => r.t).join('\n');
}

describe('credentials at run time', () => {
  it('authenticates with the secret and leaks it nowhere, even when the server echoes it', async () => {
    const h = await harness({ LINKFLOW_SECRETS_KEY: KEY_A });
    const store = await storeCredential(h, { token: VALUE });
    const id = await h.start(await h.createWorkflow(leakyWorkflow(target.url)));
    const e = await h.waitFor(id);
    // The server saw the real value and accepted it.
    expect(target.seen).toContain(`Bearer ${VALUE}`);
    const run = (node: string) => e.nodeRuns.find((r) => r.nodeId === node);
    expect(run('auth')?.status).toBe('success');
    expect(run('copy')?.status).toBe('success');
    expect(run('echo500')?.status).toBe('success');
    expect(run('fail')?.error).toMatchObject({ type: 'EXECUTION', status: 500 });
    expect(JSON.stringify(run('auth')?.output)).toContain('"authorization":"[redacted]"');
    expect(JSON.stringify(run('copy')?.output)).toContain('/check?k=[redacted]');
    expect(JSON.stringify(run('echo500')?.output)).toContain('"x-custom":"[redacted]"');
    expect(run('fail')?.error?.message).toContain('/fail/[redacted]');
    // Nowhere else.
    await expect.poll(() => published.length).toBeGreaterThan(0);
    expect(await storedText(h, id)).not.toContain(VALUE);
    expect(JSON.stringify(e)).not.toContain(VALUE);
    expect(pino.join('')).not.toContain(VALUE);
    expect(published.join('\n')).not.toContain(VALUE);
    expect(spans.length).toBeGreaterThan(0);
    expect(spans.join('\n')).not.toContain(VALUE);
    // The http client span's URL carried it in the query: redacted by value (the process's
    // live credential values), since `k` is no secret-looking name.
    expect(spans.join('\n')).toContain('/check?k=[redacted]');
    // One counted resolution per node attempt that uses it (auth, echo500, fail).
    expect((await store.get(h.tenantId, 'api'))?.useCount).toBe(3);
  });

  it('passes a secret to a db node as a parameter and redacts it from the rows', async () => {
    const h = await harness({ LINKFLOW_SECRETS_KEY: KEY_A });
    await storeCredential(h, { password: VALUE });
    const wf = await h.createWorkflow({
      name: 'db-secret',
      nodes: [
        {
          id: 'q',
          type: 'db',
          config: {
            connection: 'main',
            query: 'select $1::text = $2::text as matches, $1::text as echoed',
            params: ['{{ secrets.api.password }}', VALUE],
          },
        },
      ],
    });
    const e = await h.waitFor(await h.start(wf));
    expect(e.status).toBe('success');
    expect(e.nodeRuns[0]?.output).toEqual({
      rows: [{ matches: true, echoed: '[redacted]' }],
      row_count: 1,
    });
  });

  it('keeps every workflow running after a key rotation (previous key) and a data rotation', async () => {
    const h = await harness({ LINKFLOW_SECRETS_KEY: KEY_B, LINKFLOW_SECRETS_KEY_PREVIOUS: KEY_A });
    const store = await storeCredential(h, { token: 'wrong-token' });
    const wf = await h.createWorkflow({
      name: 'rotated',
      nodes: [
        { id: 'auth', type: 'http', config: { url: `${target.url}/check`, headers: authHeader } },
      ],
    });
    const before = await h.waitFor(await h.start(wf));
    expect(before.status).toBe('failed');
    // Rotate the data (PUT): written under the current key B; the next execution uses it.
    const cipherB = createSecretCipher({ current: KEY_B, previous: KEY_A });
    await createCredentialStore({
      pool: h.db.pool,
      ids: { next: randomUUID },
      cipher: cipherB,
    }).replace(h.tenantId, 'api', { token: VALUE });
    expect((await h.waitFor(await h.start(wf))).status).toBe('success');
    expect((await store.get(h.tenantId, 'api'))?.useCount).toBe(2);
  });

  it('reads values written under the previous key', async () => {
    const h = await harness({ LINKFLOW_SECRETS_KEY: KEY_B, LINKFLOW_SECRETS_KEY_PREVIOUS: KEY_A });
    await storeCredential(h, { token: VALUE });
    const wf = await h.createWorkflow({
      name: 'old-key',
      nodes: [
        { id: 'auth', type: 'http', config: { url: `${target.url}/check`, headers: authHeader } },
      ],
    });
    expect((await h.waitFor(await h.start(wf))).status).toBe('success');
  });

  it('fails the node with VALIDATION without a key, with a wrong key, or for a missing key name', async () => {
    const noKey = await harness({});
    await storeCredential(noKey, { token: VALUE });
    const node = (header: string) => ({
      name: 'needs-key',
      nodes: [
        {
          id: 'auth',
          type: 'http',
          config: { url: `${target.url}/check`, headers: { authorization: header } },
        },
      ],
    });
    const e1 = await noKey.waitFor(
      await noKey.start(await noKey.createWorkflow(node(authHeader.authorization))),
    );
    expect(e1.nodeRuns[0]?.error).toMatchObject({ type: 'VALIDATION' });
    expect(e1.nodeRuns[0]?.error?.message).toContain('LINKFLOW_SECRETS_KEY');

    const wrong = await harness({ LINKFLOW_SECRETS_KEY: KEY_B });
    await storeCredential(wrong, { token: VALUE });
    const e2 = await wrong.waitFor(
      await wrong.start(await wrong.createWorkflow(node(authHeader.authorization))),
    );
    expect(e2.nodeRuns[0]?.error).toMatchObject({ type: 'VALIDATION' });
    expect(e2.nodeRuns[0]?.error?.message).toContain("credential 'api' cannot be decrypted");
    // A key removed after the workflow was stored (the store holds only `token`).
    const e3 = await wrong.waitFor(
      await wrong.start(await wrong.createWorkflow(node('{{ secrets.api.other }}'))),
    );
    expect(e3.nodeRuns[0]?.error).toMatchObject({ type: 'VALIDATION' });
    expect(e3.nodeRuns[0]?.error?.message).toContain("has no key 'other'");
    for (const e of [e1, e2, e3]) {
      expect(e.status).toBe('failed');
      expect(e.nodeRuns[0]?.attempts).toBe(1);
      expect(JSON.stringify(e)).not.toContain(VALUE);
      expect(JSON.stringify(e)).not.toMatch(/\n\s+at /);
    }
  });
});
