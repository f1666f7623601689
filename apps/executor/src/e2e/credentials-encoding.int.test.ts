import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLiveSecrets } from '@linkflow/domain';
import { createCredentialStore, createSecretCipher } from '@linkflow/store';
import {
  createLogger,
  defaultInstrumentations,
  startTracing,
  type Tracing,
} from '@linkflow/telemetry';
import { loadConfig } from '../config.ts';
import { startExecutor } from '../executor.ts';
import { createExecutorHarness, type ExecutorHarness } from '../testing/executor-harness.ts';

// A hostile (or merely unlucky) credential value with characters a URL or a JSON text
// escapes: the http node sends it percent-encoded (path, `?` in the url), form-encoded
// (`query`), and a server echoes it inside a text body as JSON (`\"`). The raw value never
// appears there, so redaction by the raw value alone misses every one of these forms.

const KEY = randomBytes(32).toString('base64');
const VALUE = `sp ace+é"q|'^-${randomUUID()}`;
/** The forms the value takes on the wire and in echoed text. */
const FORMS = [
  encodeURIComponent(VALUE),
  encodeURI(VALUE),
  new URLSearchParams({ v: VALUE }).toString().slice(2),
  JSON.stringify(VALUE).slice(1, -1),
  new URL(`http://h/${VALUE}`).pathname.slice(1),
  new URL(`http://h/?${VALUE}`).search.slice(1),
];

let server: Server;
let url: string;
let tracing: Tracing;
let h: ExecutorHarness;
let stop: () => Promise<void>;
const spans: string[] = [];
const pino: string[] = [];

beforeAll(async () => {
  tracing = startTracing({
    serviceName: 'cred-enc-test',
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
  // Echoes the request line and headers as text (not JSON): the node keeps the body a string.
  server = createServer((req, res) => {
    // Never answers: the node's timeout aborts the request.
    if (req.url?.startsWith('/stall')) return;
    if (req.url?.startsWith('/hang')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h = await createExecutorHarness();
  const config = loadConfig({
    ...h.env,
    EXECUTOR_ID: `enc-${randomUUID().slice(0, 8)}`,
    LINKFLOW_SECRETS_KEY: KEY,
  });
  const liveSecrets = createLiveSecrets();
  tracing.redactValuesFrom(liveSecrets);
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      pino.push(chunk.toString());
      done();
    },
  });
  const log = createLogger({ level: 'debug', name: 'cred-enc', destination, liveSecrets });
  const executor = await startExecutor(config, log, { liveSecrets });
  stop = () => executor.stop(1000);
});
afterAll(async () => {
  await stop();
  await h.close();
  await new Promise((resolve) => server.close(resolve));
  await tracing.shutdown();
});

async function storedText(executionId: string): Promise<string> {
  const rows = await h.db.pool.query<{ t: string }>(
    `select row_to_json(e)::text as t from executions e where id = $1
     union all select row_to_json(n)::text from node_runs n where execution_id = $1
     union all select row_to_json(l)::text from execution_logs l where execution_id = $1`,
    [executionId],
  );
  return rows.rows.map((r) => r.t).join('\n');
}

describe('a credential value in encoded form', () => {
  it('is redacted from outputs, pino and spans in its percent-, form- and JSON-escaped forms', async () => {
    const cipher = createSecretCipher({ current: KEY, previous: undefined });
    const store = createCredentialStore({ pool: h.db.pool, ids: { next: randomUUID }, cipher });
    await store.create(h.tenantId, 'api', { token: VALUE });
    const ref = '{{ secrets.api.token }}';
    const wf = await h.createWorkflow({
      name: 'encoded',
      nodes: [
        { id: 'path', type: 'http', config: { url: `${url}/p/${ref}`, headers: { 'x-v': ref } } },
        { id: 'query', type: 'http', config: { url: `${url}/q`, query: { v: ref } } },
      ],
    });
    const e = await h.waitFor(await h.start(wf));
    expect(e.status).toBe('success');
    const texts = {
      stored: await storedText(e.id),
      run: JSON.stringify(e),
      spans: spans.join('\n'),
      pino: pino.join(''),
      // The echoed bodies as the node keeps them (strings: the JSON escapes are in the text).
      bodies: e.nodeRuns
        .map((r) => String((r.output as { body?: unknown } | null)?.body))
        .join('\n'),
    };
    const leaks = Object.entries(texts).flatMap(([where, text]) =>
      [VALUE, ...FORMS].filter((form) => text.includes(form)).map((form) => `${where}: ${form}`),
    );
    expect(leaks).toEqual([]);
    expect(texts.stored).toContain('[redacted]');
  });

  it('is not quoted in part by a cut URL, nor lower-cased by the URL parser', async () => {
    const cipher = createSecretCipher({ current: KEY, previous: undefined });
    const store = createCredentialStore({ pool: h.db.pool, ids: { next: randomUUID }, cipher });
    const upper = `UpCase-${randomUUID()}`;
    await store.create(h.tenantId, 'cut', { token: VALUE, scheme: upper });
    const pad = 'x'.repeat(196);
    const wf = await h.createWorkflow({
      name: 'cut',
      nodes: [
        // Not an absolute URL: the message quoted its first 200 characters, 4 of the value.
        { id: 'long', type: 'http', config: { url: `${pad}{{ secrets.cut.token }}` } },
        // A scheme the parser lower-cases before the message quotes it.
        { id: 'scheme', type: 'http', config: { url: '{{ secrets.cut.scheme }}://h/' } },
      ],
      settings: { fail_fast: false },
    });
    const e = await h.waitFor(await h.start(wf));
    const error = (node: string) => e.nodeRuns.find((r) => r.nodeId === node)?.error;
    expect(error('long')).toMatchObject({ type: 'VALIDATION' });
    expect(error('scheme')).toMatchObject({ type: 'SECURITY' });
    const text = (await storedText(e.id)) + JSON.stringify(e) + spans.join('\n') + pino.join('');
    expect(text).not.toContain(`${pad}${VALUE.slice(0, 4)}`);
    expect(text).not.toContain(upper.toLowerCase());
  });

  it('is redacted from the http client span of a request the node timeout aborts', async () => {
    const cipher = createSecretCipher({ current: KEY, previous: undefined });
    const store = createCredentialStore({ pool: h.db.pool, ids: { next: randomUUID }, cipher });
    const value = `late-${randomUUID()}`;
    await store.create(h.tenantId, 'late', { token: value });
    const ref = '{{ secrets.late.token }}';
    const wf = await h.createWorkflow({
      name: 'late',
      nodes: [
        { id: 'stall', type: 'http', config: { url: `${url}/stall?k=${ref}`, timeout_ms: 300 } },
        { id: 'hang', type: 'http', config: { url: `${url}/hang?k=${ref}`, timeout_ms: 300 } },
      ],
      settings: { fail_fast: false },
    });
    const e = await h.waitFor(await h.start(wf));
    expect(e.nodeRuns.map((r) => r.error?.type)).toEqual(['TIMEOUT', 'TIMEOUT']);
    // The client spans end when undici reports the abort, possibly after the attempt settled.
    await expect
      .poll(() => spans.filter((x) => x.startsWith('["GET"') && /\/(stall|hang)/.test(x)).length, {
        timeout: 5000,
      })
      .toBe(2);
    expect(spans.join('\n')).not.toContain(value);
    expect(pino.join('')).not.toContain(value);
  });
});
