import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The local HTTP server the `http` nodes of the bench call (in the harness process). */
export interface HttpTarget {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Requests answered so far. */
  readonly requests: () => number;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 that answers every request with a small JSON body after
 * `delayMs` (a remote API's latency, without its variance). The executor reaches it only
 * with `LINKFLOW_HTTP_ALLOW=127.0.0.1` (the harness sets it).
 */
export async function startHttpTarget(delayMs: number): Promise<HttpTarget> {
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    setTimeout(() => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, n: requests }));
    }, delayMs);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
