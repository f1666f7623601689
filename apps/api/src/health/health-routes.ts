import type { FastifyInstance } from 'fastify';

/** A named dependency check; it throws (or rejects) when the dependency is down. */
export type Probe = () => Promise<unknown>;

/** 'ok', or what went wrong. */
async function run(probe: Probe, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([probe().then(() => 'ok' as const), timeout]);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

/** `/health/live` (process up) and `/health/ready` (every probe answers; else 503). */
export function registerHealthRoutes(
  app: FastifyInstance,
  probes: Readonly<Record<string, Probe>>,
  timeoutMs = 2000,
): void {
  app.get('/health/live', { config: { scope: 'public' }, schema: { hide: true } }, () => ({
    status: 'ok',
  }));
  app.get(
    '/health/ready',
    { config: { scope: 'public' }, schema: { hide: true } },
    async (_request, reply) => {
      const names = Object.keys(probes);
      const results = await Promise.all(names.map((name) => run(probes[name] as Probe, timeoutMs)));
      const checks = Object.fromEntries(names.map((name, i) => [name, results[i]]));
      const ready = results.every((r) => r === 'ok');
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks });
    },
  );
}
