import type { FastifyInstance } from 'fastify';
import type { ApiMetrics } from '@linkflow/telemetry';

/**
 * `/metrics` (Prometheus text, unauthenticated) and per-route request metrics. `scrape`
 * replaces this process's registry as the source of the text (a cluster worker's merged view).
 */
export function installMetrics(
  app: FastifyInstance,
  metrics: ApiMetrics,
  scrape: () => Promise<string> = () => metrics.registry.metrics(),
): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const method = request.method;
    metrics.httpRequests.inc({ method, route, status: String(reply.statusCode) });
    metrics.httpRequestDuration.observe({ method, route }, reply.elapsedTime / 1000);
  });
  app.get(
    '/metrics',
    { config: { scope: 'public' }, schema: { hide: true } },
    async (_request, reply) => reply.type(metrics.registry.contentType).send(await scrape()),
  );
}
