import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createCostReportRepository, REPORT_MAX_STATEMENTS } from './cost-report-repository.ts';
import { createDb, type Db } from './db-client.ts';

// Hostile tenant: GET /api/costs/report needs only executions:read, and each report holds two
// pooled connections for up to its 30 s statement timeout. Ten concurrent reports must not
// take the API's whole pool (20): every other route of every tenant would wait for them.

let db: Db;
let tenantId: string;
const ids = { next: () => randomUUID() };

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 20 });
  tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
});
afterAll(async () => db.close());

/** The pool, counting the connections reports hold (or wait for) at once. */
function countingPool(pool: pg.Pool) {
  const seen = { now: 0, max: 0 };
  const connect = async () => {
    seen.now += 1;
    seen.max = Math.max(seen.max, seen.now);
    const client = await pool.connect();
    const release = client.release.bind(client);
    client.release = (err?: Error | boolean) => {
      seen.now -= 1;
      release(err);
    };
    return client;
  };
  return {
    pool: new Proxy(pool, { get: (t, k) => (k === 'connect' ? connect : Reflect.get(t, k)) }),
    seen,
  };
}

describe('cost report connections', () => {
  it('ten concurrent reports hold at most REPORT_MAX_STATEMENTS pooled connections', async () => {
    const { pool, seen } = countingPool(db.pool);
    const costs = createCostReportRepository({ pool });
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 86_400_000);
    // ACT
    await Promise.all(
      Array.from({ length: 10 }, () => costs.report({ groupBy: 'workflow', from, to, tenantId })),
    );
    // ASSERT
    expect(REPORT_MAX_STATEMENTS).toBeLessThan(20);
    expect(seen.max).toBeLessThanOrEqual(REPORT_MAX_STATEMENTS);
  });
});
