import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { createApiHarness, type ApiHarness } from '../testing/api-harness.ts';

// ARRANGE (shared): `open` lets every tenant use `main`; `strict` (same database, same tenant)
// reserves `main` for another tenant, as an operator would after narrowing the connection.
let open: ApiHarness;
let strict: ApiHarness;

beforeAll(async () => {
  open = await createApiHarness();
  strict = await createApiHarness({
    dbConnections: {
      main: { url: testDatabaseUrl(), tenants: ['another-tenant'] },
      mine: { url: testDatabaseUrl(), tenants: [open.tenantId] },
    },
  });
});
afterAll(async () => Promise.all([open.close(), strict.close()]));

const withDb = (connection: string, extra: Record<string, unknown> = {}) => ({
  name: 'db-access',
  nodes: [
    { id: 'a', type: 'transform', config: { expression: '1' } },
    { id: 'b', type: 'transform', config: { expression: '2' } },
    { id: 'save', type: 'db', config: { connection, query: 'select 1', ...extra } },
  ],
});

const forbidden = {
  path: '/nodes/2/config/connection',
  message:
    'connection "main" is not allowed for this tenant (the operator restricts it to other tenants)',
};

describe('db connections reserved for some tenants', () => {
  it('answers 422 naming the field at create and at update', async () => {
    const created = await strict.request('POST', '/api/workflows', {
      key: open.adminKey,
      body: withDb('main'),
    });
    expect(created.statusCode).toBe(422);
    expect(created.headers['content-type']).toContain('application/problem+json');
    expect(created.json()).toMatchObject({ status: 422, errors: [forbidden] });
    const ok = await open.request('POST', '/api/workflows', { body: withDb('main') });
    expect(ok.statusCode).toBe(201);
    const updated = await strict.request('PUT', `/api/workflows/${ok.json<{ id: string }>().id}`, {
      key: open.adminKey,
      body: withDb('main'),
    });
    expect(updated.statusCode).toBe(422);
    expect(updated.json()).toMatchObject({ errors: [forbidden] });
  });

  it('answers 422 at start for a stored workflow whose connection was narrowed since', async () => {
    const wf = await open.request('POST', '/api/workflows', { body: withDb('main') });
    const started = await strict.request('POST', '/api/executions', {
      key: open.adminKey,
      body: { workflow_id: wf.json<{ id: string }>().id, input_data: {} },
    });
    expect(started.statusCode).toBe(422);
    expect(started.json()).toMatchObject({ status: 422, errors: [forbidden] });
  });

  it('accepts a connection listing the tenant by id or by name', async () => {
    const byId = await strict.request('POST', '/api/workflows', {
      key: open.adminKey,
      body: withDb('mine'),
    });
    expect(byId.statusCode).toBe(201);
    const { rows } = await open.db.pool.query<{ name: string }>(
      'select name from tenants where id = $1',
      [open.tenantId],
    );
    const byName = await createApiHarness({
      dbConnections: { main: { url: testDatabaseUrl(), tenants: [rows[0]!.name] } },
    });
    try {
      const res = await byName.request('POST', '/api/workflows', {
        key: open.adminKey,
        body: withDb('main'),
      });
      expect(res.statusCode).toBe(201);
    } finally {
      await byName.close();
    }
  });
});

describe('db node config limits', () => {
  it('answers 422 for timeout_ms over 5 minutes', async () => {
    const res = await open.request('POST', '/api/workflows', {
      body: withDb('main', { timeout_ms: 300_001 }),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json<{ errors: { path: string }[] }>().errors[0]?.path).toBe(
      '/nodes/2/config/timeout_ms',
    );
  });
});
