import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeContext, NodeDefinition } from '../node-definition.ts';
import { nodeFailure } from '../testing/node-failure.ts';
import { createHttpNode, type HttpConfig, type HttpOutput, type LookupAddress } from './index.ts';
import { EMPTY_NODE_INPUT, fakeNodeContext } from '../testing/node-context.ts';

// ARRANGE (shared): one loopback server; every real request in this file goes to 127.0.0.1.
const closedSockets: string[] = [];
let server: Server;
let base: string;
let port: number;
let requestSeen: (path: string) => void = () => undefined;

function route(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const tag = url.searchParams.get('tag') ?? url.pathname;
  req.socket.once('close', () => closedSockets.push(tag));
  requestSeen(url.pathname);
  const json = (status: number, value: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  };
  switch (url.pathname) {
    case '/json':
      return json(200, { hello: 'world', n: 1 });
    case '/echo':
      return json(200, { method: req.method, url: req.url, headers: req.headers, body });
    case '/text':
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('plain text');
      return;
    case '/status':
      return json(Number(url.searchParams.get('code')), { error: 'status' });
    case '/bad-json':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{not json');
      return;
    case '/redirect':
      res
        .writeHead(Number(url.searchParams.get('code') ?? 302), {
          location: url.searchParams.get('to') ?? '/',
        })
        .end();
      return;
    case '/loop':
      res.writeHead(302, { location: '/loop' }).end();
      return;
    case '/big':
      res
        .writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' })
        .end('x'.repeat(100000));
      return;
    case '/stream': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const tick = setInterval(() => res.write('y'.repeat(1024)), 2);
      res.once('close', () => clearInterval(tick));
      return;
    }
    case '/hang':
      return; // never answers
    default:
      json(404, { error: 'not found' });
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => route(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await Promise.all(nodes.map((n) => (n.close ? n.close() : Promise.resolve())));
});

const nodes: NodeDefinition<HttpConfig, HttpOutput>[] = [];

function makeNode(
  allow: readonly string[],
  hosts?: Record<string, readonly string[]>,
): NodeDefinition<HttpConfig, HttpOutput> {
  const lookup =
    hosts === undefined
      ? undefined
      : (name: string): Promise<LookupAddress[]> => {
          const ips = hosts[name];
          if (ips === undefined)
            return Promise.reject(
              Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }),
            );
          return Promise.resolve(
            ips.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
          );
        };
  const node = createHttpNode({
    allow,
    maxResponseBytes: 1_000_000,
    defaultTimeoutMs: 5000,
    ...(lookup ? { lookup } : {}),
  });
  nodes.push(node);
  return node;
}

function makeCtx(signal?: AbortSignal): NodeContext {
  return fakeNodeContext({ nodeId: 'fetch', timeoutMs: 5000, ...(signal ? { signal } : {}) });
}

const input = EMPTY_NODE_INPUT;

const allowed = makeNode(['127.0.0.1']);
const strict = makeNode([]);

function run(
  node: NodeDefinition<HttpConfig, HttpOutput>,
  config: HttpConfig,
  signal?: AbortSignal,
) {
  return node.execute(makeCtx(signal), config, input);
}

describe('http node requests', () => {
  it('parses a JSON response and reports usage', async () => {
    const { output, usage } = await run(allowed, { url: `${base}/json` });
    expect(output.status).toBe(200);
    expect(output.body).toEqual({ hello: 'world', n: 1 });
    expect(output.headers['content-type']).toBe('application/json');
    expect(usage.net_bytes_in).toBeGreaterThan(20);
    expect(usage.net_bytes_out).toBeGreaterThan(10);
  });

  it('sends an object body as JSON with its content type', async () => {
    const { output } = await run(allowed, {
      method: 'POST',
      url: `${base}/echo`,
      body: { a: [1, 2] },
    });
    const echo = output.body as { method: string; headers: Record<string, string>; body: string };
    expect(echo.method).toBe('POST');
    expect(echo.headers['content-type']).toBe('application/json');
    expect(JSON.parse(echo.body)).toEqual({ a: [1, 2] });
  });

  it('sends a string body as text and returns a text response as a string', async () => {
    const { output } = await run(allowed, { method: 'PUT', url: `${base}/echo`, body: 'hi there' });
    const echo = output.body as { headers: Record<string, string>; body: string };
    expect(echo.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(echo.body).toBe('hi there');
    const text = await run(allowed, { url: `${base}/text` });
    expect(text.output.body).toBe('plain text');
  });

  it('appends query params and sends custom headers', async () => {
    const { output } = await run(allowed, {
      url: `${base}/echo?keep=1`,
      query: { q: 'a b', n: 3, ok: true },
      headers: { 'X-Trace': 'abc' },
    });
    const echo = output.body as { url: string; headers: Record<string, string> };
    expect(echo.url).toBe('/echo?keep=1&q=a+b&n=3&ok=true');
    expect(echo.headers['x-trace']).toBe('abc');
  });
});

describe('http node response bodies', () => {
  it('returns a null body for HEAD', async () => {
    const { output } = await run(allowed, { method: 'HEAD', url: `${base}/json` });
    expect(output).toMatchObject({ status: 200, body: null });
  });

  it('fails with TRANSFORMATION when a JSON response does not parse', async () => {
    const err = await nodeFailure(run(allowed, { url: `${base}/bad-json` }));
    expect(err).toMatchObject({ type: 'TRANSFORMATION', retryable: false });
  });
});

describe('http node status handling', () => {
  it('fails 404 as EXECUTION that is not retryable, with the status', async () => {
    const err = await nodeFailure(run(allowed, { url: `${base}/status?code=404&secret=k` }));
    expect(err).toMatchObject({ type: 'EXECUTION', retryable: false, status: 404 });
    expect(err.message).toBe(`HTTP 404 from GET ${base}/status`);
  });

  it.each([503, 429, 408])('fails %i as retryable EXECUTION with the status', async (code) => {
    const err = await nodeFailure(
      run(allowed, { method: 'DELETE', url: `${base}/status?code=${code}` }),
    );
    expect(err).toMatchObject({ type: 'EXECUTION', retryable: true, status: code });
    expect(err.message).toBe(`HTTP ${code} from DELETE ${base}/status`);
  });

  it('accepts the statuses listed in accept_status', async () => {
    const ok = await run(allowed, { url: `${base}/status?code=404`, accept_status: [404, '2xx'] });
    expect(ok.output).toMatchObject({ status: 404, body: { error: 'status' } });
    const err = await nodeFailure(run(allowed, { url: `${base}/json`, accept_status: [201] }));
    expect(err).toMatchObject({ type: 'EXECUTION', retryable: false, status: 200 });
  });
});

describe('http node transport failures', () => {
  it('fails a refused connection as retryable CONNECTIVITY', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const freePort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const err = await nodeFailure(run(allowed, { url: `http://127.0.0.1:${freePort}/` }));
    expect(err).toMatchObject({ type: 'CONNECTIVITY', retryable: true });
  });

  it('fails with retryable TIMEOUT after timeout_ms', async () => {
    const started = Date.now();
    const err = await nodeFailure(
      run(allowed, { url: `${base}/hang?tag=timeout`, timeout_ms: 100 }),
    );
    expect(err).toMatchObject({ type: 'TIMEOUT', retryable: true });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects with CANCELLATION promptly on abort and closes the socket', async () => {
    const controller = new AbortController();
    const seen = new Promise<void>((resolve) => {
      requestSeen = (path) => path === '/hang' && resolve();
    });
    const pending = run(allowed, { url: `${base}/hang?tag=abort` }, controller.signal);
    await seen;
    const started = Date.now();
    controller.abort();
    const err = await nodeFailure(pending);
    expect(Date.now() - started).toBeLessThan(200);
    expect(err).toMatchObject({ type: 'CANCELLATION', retryable: false });
    await expect.poll(() => closedSockets.includes('abort'), { timeout: 500 }).toBe(true);
  });
});

describe('http node response limits', () => {
  it('stops reading once max_response_bytes is passed while streaming', async () => {
    const err = await nodeFailure(
      run(allowed, { url: `${base}/stream?tag=stream`, max_response_bytes: 10_000 }),
    );
    expect(err).toMatchObject({ type: 'EXECUTION', retryable: false });
    expect(err.message).toContain('max_response_bytes (10000 bytes)');
    await expect.poll(() => closedSockets.includes('stream'), { timeout: 500 }).toBe(true);
  });

  it('fails at once when content-length is over the limit', async () => {
    const err = await nodeFailure(run(allowed, { url: `${base}/big`, max_response_bytes: 1000 }));
    expect(err.message).toContain('max_response_bytes (1000 bytes)');
  });
});

describe('http node redirects', () => {
  it('follows a redirect to an allowed address', async () => {
    const { output } = await run(allowed, { url: `${base}/redirect?to=/json` });
    expect(output).toMatchObject({ status: 200, body: { hello: 'world', n: 1 } });
  });

  it('returns the redirect itself when follow_redirects is false', async () => {
    const { output } = await run(allowed, {
      url: `${base}/redirect?to=/json`,
      follow_redirects: false,
      accept_status: ['3xx'],
    });
    expect(output.status).toBe(302);
  });

  it('turns a 303 after POST into a GET without body', async () => {
    const { output } = await run(allowed, {
      method: 'POST',
      body: { a: 1 },
      url: `${base}/redirect?code=303&to=/echo`,
    });
    expect(output.body).toMatchObject({ method: 'GET', body: '' });
  });
});

describe('http node redirect safety', () => {
  it('drops credentials when a redirect changes origin', async () => {
    const node = makeNode(['127.0.0.1'], { 'other.test': ['127.0.0.1'] });
    const to = encodeURIComponent(`http://other.test:${port}/echo`);
    const { output } = await run(node, {
      url: `${base}/redirect?to=${to}`,
      headers: { authorization: 'Bearer s', 'x-keep': '1', accept: 'application/json' },
    });
    const echo = output.body as { headers: Record<string, string> };
    expect(echo.headers['authorization']).toBeUndefined();
    expect(echo.headers['x-keep']).toBeUndefined();
    expect(echo.headers['accept']).toBe('application/json');
  });

  it('refuses a redirect to a loopback target that is not allowed', async () => {
    const node = makeNode(['public.test'], { 'public.test': ['127.0.0.1'] });
    const to = encodeURIComponent(`${base}/json`);
    const err = await nodeFailure(
      run(node, { url: `http://public.test:${port}/redirect?to=${to}` }),
    );
    expect(err).toMatchObject({ type: 'SECURITY', retryable: false });
  });

  it('refuses a redirect to a non-http scheme', async () => {
    const err = await nodeFailure(
      run(allowed, { url: `${base}/redirect?to=${encodeURIComponent('file:///etc/passwd')}` }),
    );
    expect(err).toMatchObject({ type: 'SECURITY', retryable: false });
  });

  it('fails after more than five redirects', async () => {
    const err = await nodeFailure(run(allowed, { url: `${base}/loop` }));
    expect(err).toMatchObject({ type: 'EXECUTION', retryable: false });
    expect(err.message).toContain('too many redirects');
  });
});

describe('http node address policy', () => {
  it('refuses loopback without an allowlist, by IP and by name', async () => {
    for (const url of [
      `${base}/json`,
      `http://localhost:${port}/json`,
      `http://[::1]:${port}/json`,
      `http://2130706433:${port}/json`,
    ]) {
      const err = await nodeFailure(run(strict, { url }));
      expect(err).toMatchObject({ type: 'SECURITY', retryable: false });
    }
  });

  it.each([
    ['private', '10.0.0.5'],
    ['metadata', '169.254.169.254'],
    ['link-local', '169.254.10.1'],
    ['CGNAT', '100.64.0.1'],
    ['mapped loopback', '::ffff:127.0.0.1'],
    ['unique-local', 'fd00:ec2::254'],
    ['IPv6 link-local', 'fe80::1'],
    ['NAT64 of a private IP', '64:ff9b::a00:1'],
  ])('refuses a host resolving to a %s address', async (_label, ip) => {
    const node = makeNode([], { 'evil.test': [ip] });
    const err = await nodeFailure(run(node, { url: 'http://evil.test/' }));
    expect(err).toMatchObject({ type: 'SECURITY', retryable: false });
    expect(err.message).toContain(ip);
  });
});

describe('http node allowlist', () => {
  it('refuses a host when any of its addresses is refused', async () => {
    const node = makeNode([], { 'mixed.test': ['93.184.216.34', '192.168.1.1'] });
    const err = await nodeFailure(run(node, { url: 'http://mixed.test/' }));
    expect(err).toMatchObject({ type: 'SECURITY' });
  });

  it('admits a refused range through a CIDR entry and connects to the checked address', async () => {
    const node = makeNode(['127.0.0.0/8'], { 'app.test': ['127.0.0.1'] });
    const { output } = await run(node, { url: `http://app.test:${port}/json` });
    expect(output.body).toEqual({ hello: 'world', n: 1 });
  });

  it('does not open metadata addresses through a CIDR entry', async () => {
    const node = makeNode(['169.254.0.0/16'], { 'meta.test': ['169.254.169.254'] });
    const err = await nodeFailure(run(node, { url: 'http://meta.test/latest/meta-data' }));
    expect(err).toMatchObject({ type: 'SECURITY' });
  });

  it('fails a DNS failure as retryable CONNECTIVITY', async () => {
    const node = makeNode([], {});
    const err = await nodeFailure(run(node, { url: 'http://nowhere.test/' }));
    expect(err).toMatchObject({ type: 'CONNECTIVITY', retryable: true });
  });

  it('refuses non-http schemes at run time', async () => {
    const err = await nodeFailure(run(allowed, { url: 'ftp://127.0.0.1/file' }));
    expect(err).toMatchObject({ type: 'SECURITY', retryable: false });
  });

  it('rejects an allowlist entry that is not a host, IP or CIDR', () => {
    expect(() =>
      createHttpNode({ allow: ['10.0.0.0/33'], maxResponseBytes: 1, defaultTimeoutMs: 1 }),
    ).toThrow(/LINKFLOW_HTTP_ALLOW/);
  });
});
