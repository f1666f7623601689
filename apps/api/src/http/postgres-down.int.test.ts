import { URL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';
import { startTcpProxy, type TcpProxy } from '../testing/stream-fixture.ts';

// The API's Postgres goes away (through a TCP proxy that is cut): requests answer 503
// problem+json with Retry-After, not 500, and work again once Postgres is back.

let h: ApiHarness;
let proxy: TcpProxy;
beforeAll(async () => {
  const direct = new URL(testDatabaseUrl());
  proxy = await startTcpProxy(Number(direct.port || 5432), 'postgresql');
  const viaProxy = new URL(testDatabaseUrl());
  viaProxy.port = String(proxy.port);
  h = await createApiHarness({ databaseUrl: viaProxy.toString() });
});
afterAll(async () => {
  await proxy.resume().catch(() => undefined);
  await h.close();
});

describe('Postgres down', () => {
  it('answers 503 with Retry-After while it is gone, and 2xx once it is back', async () => {
    expect((await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).statusCode).toBe(
      201,
    );
    await proxy.cut();
    for (const [method, url] of [
      ['GET', '/api/workflows'],
      ['GET', '/api/executions'],
    ] as const) {
      const res = await h.request(method, url);
      expect(res.statusCode, url).toBe(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.headers['retry-after']).toBe('5');
    }
    // concurrent GETs of one execution each share a statement: every one answers 503
    const gets = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h.request('GET', `/api/executions/e-${i % 3}`)),
    );
    expect(gets.map((r) => [r.statusCode, r.headers['retry-after']])).toEqual(
      Array(8).fill([503, '5']),
    );
    await proxy.resume();
    await expect
      .poll(async () => (await h.request('GET', '/api/workflows')).statusCode, { timeout: 10_000 })
      .toBe(200);
  });
});
