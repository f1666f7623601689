import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiKeyPrincipal } from '@linkflow/store';
import { createApiMetrics, createExecutorMetrics, fleetSnapshot } from '@linkflow/telemetry';
import { installAuth, type Authenticator } from '../auth/auth.ts';
import { installMetrics, type FleetMetricsSource } from './metrics-hooks.ts';

// /metrics with the executors' metrics: only for an admin key, and never failing the scrape
// whatever the fleet source does (Redis down, garbage in Redis, Postgres down for the key).

const principals: Record<string, ApiKeyPrincipal> = {
  lf_admin: { keyId: 'a', tenantId: 't1', scopes: ['admin'] },
  lf_tenant: { keyId: 'b', tenantId: 't1', scopes: ['executions:read'] },
};
const keys: Authenticator = { authenticate: (key) => Promise.resolve(principals[key]) };

let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

/** An app with /metrics over `fleet`, and the fleet's calls and errors. */
async function appWith(fleet: () => Promise<readonly string[]>, authenticator = keys) {
  const calls = { collects: 0, errors: [] as unknown[] };
  const source: FleetMetricsSource = {
    collect: () => {
      calls.collects += 1;
      return fleet();
    },
    onError: (err) => calls.errors.push(err),
  };
  const app = Fastify();
  installAuth(app, authenticator);
  installMetrics(app, createApiMetrics(), { fleet: source });
  await app.ready();
  close = () => app.close();
  const scrape = async (key?: string) => {
    const headers = key === undefined ? {} : { authorization: `Bearer ${key}` };
    const res = await app.inject({ method: 'GET', url: '/metrics', headers });
    expect(res.statusCode).toBe(200);
    return res.body;
  };
  return { scrape, calls };
}

async function oneExecutor(): Promise<string> {
  const m = createExecutorMetrics();
  m.executionsFinished.inc({ status: 'success' });
  return fleetSnapshot(m.registry);
}

describe('/metrics and the executors’ metrics', () => {
  it('adds them for an admin key only; a tenant or a bad key gets the API’s own', async () => {
    const snapshot = await oneExecutor();
    const { scrape, calls } = await appWith(() => Promise.resolve([snapshot]));
    expect(await scrape('lf_admin')).toContain(
      'linkflow_executions_finished_total{status="success"} 1',
    );
    for (const key of [undefined, 'lf_tenant', 'lf_unknown']) {
      const text = await scrape(key);
      expect(text).toContain('# TYPE linkflow_http_requests_total counter');
      expect(text).not.toContain('linkflow_executions_finished_total');
    }
    expect(calls.collects).toBe(1);
  });

  it('answers with its own metrics when the collect fails or Redis holds garbage', async () => {
    const down = await appWith(() => Promise.reject(new Error('redis down')));
    const text = await down.scrape('lf_admin');
    expect(text).toContain('# TYPE linkflow_http_requests_total counter');
    expect(down.calls.errors).toHaveLength(1);
    const garbage = await appWith(() => Promise.resolve(['{oops', '[{"name":"x"}]']));
    expect(await garbage.scrape('lf_admin')).not.toContain('linkflow_executions');
    expect(garbage.calls.errors).toHaveLength(1);
  });

  it('serves a key-carrying scrape while the key store fails or hangs (public answer)', async () => {
    const failing: Authenticator = { authenticate: () => Promise.reject(new Error('pg down')) };
    const down = await appWith(() => Promise.resolve([]), failing);
    expect(await down.scrape('lf_admin')).toContain('# TYPE linkflow_http_requests_total counter');
    expect(down.calls.collects).toBe(0);
    const hanging: Authenticator = { authenticate: () => new Promise(() => undefined) };
    const stuck = await appWith(() => Promise.resolve([]), hanging);
    expect(await stuck.scrape('lf_admin')).toContain('# TYPE linkflow_http_requests_total counter');
    expect(stuck.calls.collects).toBe(0);
  });

  it('looks no key up on other public routes', async () => {
    let lookups = 0;
    const counting: Authenticator = {
      authenticate: (key) => {
        lookups += 1;
        return Promise.resolve(principals[key]);
      },
    };
    const app = Fastify();
    installAuth(app, counting);
    app.get('/health/live', { config: { scope: 'public' } }, () => ({ status: 'ok' }));
    await app.ready();
    const res = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { authorization: 'Bearer lf_admin' },
    });
    await app.close();
    expect(res.statusCode).toBe(200);
    expect(lookups).toBe(0);
  });
});
