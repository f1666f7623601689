import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiKeyRepository,
  createCredentialStore,
  createDb,
  createSecretCipher,
  type Db,
} from '@linkflow/store';
import { testDatabaseUrl, testRedisUrl } from './fixtures.ts';

// The unlucky operator: the API started with a valid key that is not the one the stored
// credentials were written under (another environment's) refuses to serve.

const main = fileURLToPath(new URL('../apps/api/src/main.ts', import.meta.url));
const newKey = () => randomBytes(32).toString('base64');
let db: Db;

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 1 });
  const ids = { next: () => randomUUID() };
  const tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  const cipher = createSecretCipher({ current: newKey(), previous: undefined });
  await createCredentialStore({ pool: db.pool, ids, cipher }).create(tenantId, 'api', {
    token: 'tok-1234',
  });
});
afterAll(() => db.close());

describe('start-up with a wrong secrets key', () => {
  it('the api exits 78 naming LINKFLOW_SECRETS_KEY', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', main], {
      env: {
        ...process.env,
        DATABASE_URL: testDatabaseUrl(),
        REDIS_URL: testRedisUrl(),
        LINKFLOW_QUEUE: `t-${randomUUID()}`,
        API_PORT: String(20_000 + Math.floor(Math.random() * 20_000)),
        LINKFLOW_SECRETS_KEY: newKey(),
        LINKFLOW_SECRETS_KEY_PREVIOUS: newKey(),
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(78);
    expect(res.stderr).toContain('linkflow-api: invalid configuration');
    expect(res.stderr).toMatch(/LINKFLOW_SECRETS_KEY: opens none of the \d+ stored credential/);
  });
});
