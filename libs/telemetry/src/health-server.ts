import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';

/** One readiness check's answer. Raw errors are logged, never served. */
export type CheckResult = 'ok' | 'unavailable';
export type ReadinessProbe = () => Promise<Record<string, CheckResult>>;

/** A component's own health report (node types report this way). */
export interface ComponentHealth {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface HealthServerOptions {
  readonly port: number;
  /** Interface to bind (the executor's EXECUTOR_METRICS_HOST, loopback by default). */
  readonly host: string;
  readonly registry: Registry;
  readonly ready: ReadinessProbe;
  readonly log: Logger;
}

/**
 * A process's own small HTTP server (the executor's): `/metrics` (Prometheus),
 * `/health/live` and `/health/ready` (each check `ok` or `unavailable`; 503 when any is not
 * ok). It has no authentication, so callers bind loopback unless the operator chooses an
 * interface.
 */
export function startHealthServer(options: HealthServerOptions): Promise<Server> {
  const { registry, ready, log } = options;
  const server = createServer((req, res) => {
    const send = (status: number, type: string, body: string) =>
      res.writeHead(status, { 'content-type': type }).end(body);
    const route = (req.url ?? '').split('?')[0];
    if (route === '/metrics') {
      registry.metrics().then(
        (text) => send(200, registry.contentType, text),
        (err: unknown) => {
          log.warn({ err }, 'metrics collection failed');
          send(500, 'text/plain', 'metrics failed');
        },
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
        (err: unknown) => {
          log.warn({ err }, 'readiness probe failed');
          send(503, 'application/json', '{"status":"unavailable"}');
        },
      );
    } else {
      send(404, 'application/json', '{"status":404}');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}

/**
 * Runs the named checks at once and answers `ok` or `unavailable` for each, plus one per
 * node type (`node:<type>`); what went wrong (connection strings, hosts, driver messages)
 * goes to the log.
 */
export async function runReadinessChecks(
  checks: Readonly<Record<string, () => Promise<unknown>>>,
  nodes: () => Promise<Record<string, ComponentHealth>>,
  log: Logger,
): Promise<Record<string, CheckResult>> {
  const entries = Object.entries(checks);
  const [settled, nodeHealth] = await Promise.all([
    Promise.allSettled(entries.map(([, check]) => check())),
    nodes().catch((err: unknown) => {
      log.warn({ err }, 'node health check failed');
      return undefined;
    }),
  ]);
  const result: Record<string, CheckResult> = {};
  settled.forEach((s, i) => {
    const name = entries[i]?.[0] ?? `check${i}`;
    if (s.status === 'rejected') log.warn({ err: s.reason as unknown, check: name }, 'not ready');
    result[name] = s.status === 'fulfilled' ? 'ok' : 'unavailable';
  });
  if (nodeHealth === undefined) result['nodes'] = 'unavailable';
  for (const [type, h] of Object.entries(nodeHealth ?? {})) {
    if (!h.ok) log.warn({ nodeType: type, detail: h.detail }, 'node type not ready');
    result[`node:${type}`] = h.ok ? 'ok' : 'unavailable';
  }
  return result;
}
