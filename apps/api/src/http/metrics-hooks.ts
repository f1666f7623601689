import type { FastifyInstance } from 'fastify';
import { fleetMetricsText, type ApiMetrics } from '@linkflow/telemetry';
import { hasScope } from '../auth/auth.ts';

/** Where the executors' metrics come from (see `createMetricsBoard`), and where its failures go. */
export interface FleetMetricsSource {
  /** The live executors' snapshots (prom-client JSON text), fresh as of this call. */
  collect(): Promise<readonly string[]>;
  /** A collect that failed (Redis down): the scrape answers without the executors' metrics. */
  onError(err: unknown): void;
}

/** The executors' merged metrics as Prometheus text ('' when none or unavailable). */
async function fleetText(fleet: FleetMetricsSource | undefined): Promise<string> {
  if (fleet === undefined) return '';
  let snapshots: readonly string[];
  try {
    snapshots = await fleet.collect();
  } catch (err) {
    fleet.onError(err);
    return '';
  }
  const { text, skipped } = await fleetMetricsText(snapshots);
  if (skipped > 0) fleet.onError(new Error(`${skipped} executor metrics snapshots did not decode`));
  return text;
}

/** This process's text and the executors', read at once (each bounded when Redis is down). */
async function scrapeAll(
  scrape: () => Promise<string>,
  fleet: FleetMetricsSource | undefined,
): Promise<string> {
  const [own, executors] = await Promise.all([scrape(), fleetText(fleet)]);
  if (executors === '') return own;
  return own.endsWith('\n') ? `${own}${executors}` : `${own}\n${executors}`;
}

/**
 * `/metrics` (Prometheus text, no key needed) and per-route request metrics. `scrape`
 * replaces this process's registry as the source of the text (a cluster worker's merged view).
 * A request with an `admin` key also gets `fleet`: the executors' metrics (executions, nodes,
 * breakers, cost), merged over every live executor, so every name of the contract is on the
 * API's `/metrics` too. Without one it does not: those series carry tenants' workflow names,
 * costs and target hosts, which a tenant must not read of another.
 */
export function installMetrics(
  app: FastifyInstance,
  metrics: ApiMetrics,
  sources: {
    readonly scrape?: (() => Promise<string>) | undefined;
    readonly fleet?: FleetMetricsSource | undefined;
  } = {},
): void {
  const scrape = sources.scrape ?? (() => metrics.registry.metrics());
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    metrics.httpRequests.inc({ method, route, status: String(reply.statusCode) });
    metrics.httpRequestDuration.observe({ method, route }, reply.elapsedTime / 1000);
  });
  app.get(
    '/metrics',
    { config: { scope: 'public', optionalAuth: true }, schema: { hide: true } },
    async (request, reply) => {
      // The executors' series name tenants' workflows and targets: operators (admin) only.
      const operator = request.principal !== null && hasScope(request.principal, 'admin');
      const fleet = operator ? sources.fleet : undefined;
      return reply.type(metrics.registry.contentType).send(await scrapeAll(scrape, fleet));
    },
  );
}
