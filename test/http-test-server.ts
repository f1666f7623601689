import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server for node tests (loopback only). Routes:
 * `/json?total=N`, `/slow?ms=N`, `/flaky/<key>?fails=N` (503 until N calls failed),
 * `/count/<key>` (counts calls), `/hang` (never answers; records when the client gives up),
 * `/status/<code>`, `/big?bytes=N`, `/echo` (answers the request's headers),
 * `/gauge/<key>?ms=N` (answers after N ms; records the most calls of `key` in flight at once).
 */
export interface TestServer {
  readonly url: string;
  readonly counts: Map<string, number>;
  /** `/gauge/<key>`: the most requests of each key that were in flight at once. */
  readonly maxInFlight: Map<string, number>;
  readonly calls: { path: string; at: number }[];
  /** Times (ms since epoch) at which clients closed a `/hang` request. */
  readonly hangClosedAt: number[];
  close(): Promise<void>;
}

interface RouteState {
  counts: Map<string, number>;
  hangClosedAt: number[];
  inFlight: Map<string, number>;
  maxInFlight: Map<string, number>;
}

/** `/gauge/<key>`: counts the call in flight until it answers, after `ms`. */
function gauge(server: RouteState, key: string, ms: number, done: () => void): void {
  const now = (server.inFlight.get(key) ?? 0) + 1;
  server.inFlight.set(key, now);
  server.maxInFlight.set(key, Math.max(server.maxInFlight.get(key) ?? 0, now));
  setTimeout(() => {
    server.inFlight.set(key, (server.inFlight.get(key) ?? 1) - 1);
    done();
  }, ms);
}

function route(server: RouteState, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const [, head, key = ''] = url.pathname.split('/');
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const bump = () => {
    const n = (server.counts.get(`${head}/${key}`) ?? 0) + 1;
    server.counts.set(`${head}/${key}`, n);
    return n;
  };
  switch (head) {
    case 'json':
      return json(200, { total: Number(url.searchParams.get('total') ?? 0), id: 'o-1' });
    case 'slow':
      setTimeout(
        () => json(200, { slept: Number(url.searchParams.get('ms')) }),
        Number(url.searchParams.get('ms') ?? 100),
      );
      return;
    case 'flaky': {
      const n = bump();
      return n <= Number(url.searchParams.get('fails') ?? 1) ? json(503, { n }) : json(200, { n });
    }
    case 'count':
      return json(200, { n: bump() });
    case 'hang':
      req.socket.once('close', () => server.hangClosedAt.push(Date.now()));
      return;
    case 'status':
      return json(Number(key), { status: Number(key) });
    case 'big':
      return json(200, { data: 'x'.repeat(Number(url.searchParams.get('bytes') ?? 0)) });
    case 'echo':
      return json(200, { headers: req.headers });
    case 'gauge':
      bump();
      return gauge(server, key, Number(url.searchParams.get('ms') ?? 50), () =>
        json(200, { key, item: url.searchParams.get('item') }),
      );
    case undefined:
    default:
      return json(404, { error: 'no route' });
  }
}

export async function startTestServer(): Promise<TestServer> {
  const state = {
    counts: new Map<string, number>(),
    hangClosedAt: [] as number[],
    inFlight: new Map<string, number>(),
    maxInFlight: new Map<string, number>(),
    calls: [] as { path: string; at: number }[],
  };
  const server: Server = createServer((req, res) => {
    state.calls.push({ path: req.url ?? '', at: Date.now() });
    route(state, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ...state,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
