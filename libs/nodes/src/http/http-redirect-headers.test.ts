import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpNode, type HttpConfig } from './index.ts';
import { EMPTY_NODE_INPUT, fakeNodeContext } from '../testing/node-context.ts';

// ARRANGE (shared): two loopback servers on different ports, i.e. two origins.
// `/redirect?code=N&to=URL` redirects; `/echo` answers the request it received.
function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/redirect') {
    const code = Number(url.searchParams.get('code') ?? 302);
    res.writeHead(code, { location: url.searchParams.get('to') ?? '/' }).end();
    return;
  }
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ method: req.method, headers: req.headers, body }));
}

async function startServer(): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let first: { server: Server; base: string };
let second: { server: Server; base: string };
const node = createHttpNode({
  allow: ['127.0.0.1'],
  maxResponseBytes: 1_000_000,
  defaultTimeoutMs: 5000,
});

beforeAll(async () => {
  first = await startServer();
  second = await startServer();
});

afterAll(async () => {
  for (const { server } of [first, second]) {
    server.closeAllConnections();
    server.close();
  }
  await node.close?.();
});

interface Echo {
  method: string;
  headers: Record<string, string>;
  body: string;
}

async function echoAfterRedirect(code: number, to: string, config: Partial<HttpConfig>) {
  const url = `${first.base}/redirect?code=${code}&to=${encodeURIComponent(to)}`;
  const { output } = await node.execute(fakeNodeContext(), { ...config, url }, EMPTY_NODE_INPUT);
  return output.body as Echo;
}

const HEADERS = {
  'x-api-key': 'k-secret',
  authorization: 'Bearer s',
  cookie: 'sid=1',
  'x-custom': 'c',
  accept: 'application/json',
  'accept-language': 'en',
  'user-agent': 'linkflow-test',
};

describe('http node headers across redirects', () => {
  it('sends only safe headers to another port, with the body and its type on 307', async () => {
    const echo = await echoAfterRedirect(307, `${second.base}/echo`, {
      method: 'POST',
      headers: HEADERS,
      body: { a: 1 },
    });
    expect(echo.body).toBe('{"a":1}');
    for (const name of ['x-api-key', 'authorization', 'cookie', 'x-custom'])
      expect(echo.headers[name]).toBeUndefined();
    expect(echo.headers).toMatchObject({
      accept: 'application/json',
      'accept-language': 'en',
      'user-agent': 'linkflow-test',
      'content-type': 'application/json',
    });
  });

  it('drops the body type too when a 302 after POST becomes a GET to another port', async () => {
    const echo = await echoAfterRedirect(302, `${second.base}/echo`, {
      method: 'POST',
      headers: HEADERS,
      body: { a: 1 },
    });
    expect(echo.method).toBe('GET');
    expect(echo.headers['content-type']).toBeUndefined();
    expect(echo.headers['x-api-key']).toBeUndefined();
    expect(echo.headers['accept']).toBe('application/json');
  });

  it('keeps every header on a same-origin redirect', async () => {
    const echo = await echoAfterRedirect(302, `${first.base}/echo`, { headers: HEADERS });
    expect(echo.headers).toMatchObject({ 'x-api-key': 'k-secret', authorization: 'Bearer s' });
  });

  it('does not restore dropped headers when the chain comes back to the first origin', async () => {
    const back = `${second.base}/redirect?code=302&to=${encodeURIComponent(`${first.base}/echo`)}`;
    const echo = await echoAfterRedirect(302, back, { headers: HEADERS });
    expect(echo.headers['x-api-key']).toBeUndefined();
    expect(echo.headers['authorization']).toBeUndefined();
  });
});
