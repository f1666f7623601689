import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export type ReadinessProbe = () => Promise<Record<string, string>>;

/**
 * The executor's own small HTTP server: `/metrics` (Prometheus), `/health/live` and
 * `/health/ready` (Postgres, Redis and node-type health; 503 when any is not ok).
 */
export function startHealthServer(
  port: number,
  registry: Registry,
  ready: ReadinessProbe,
): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) =>
      res.writeHead(status, { 'content-type': type }).end(body);
    const route = (req.url ?? '').split('?')[0];
    if (route === '/metrics') {
      registry.metrics().then(
        (text) => send(200, registry.contentType, text),
        () => send(500, 'text/plain', 'metrics failed'),
      );
    } else if (route === '/health/live') {
      send(200, 'application/json', '{"status":"ok"}');
    } else if (route === '/health/ready') {
      ready().then(
        (checks) => {
          const ok = Object.values(checks).every((c) => c === 'ok');
          send(
            ok ? 200 : 503,
            'application/json',
            JSON.stringify({ status: ok ? 'ok' : 'unavailable', checks }),
          );
        },
        (err: unknown) =>
          send(
            503,
            'application/json',
            JSON.stringify({ status: 'unavailable', error: String(err) }),
          ),
      );
    } else {
      send(404, 'application/json', '{"status":404}');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}
