import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { secretsKeyIssues } from './credential-rotation.ts';
import { createCredentialStore } from './credential-store.ts';
import { createDb, type Db } from './db-client.ts';
import { createSecretCipher } from './secret-cipher.ts';

// The unlucky operator starts the API with a valid but wrong LINKFLOW_SECRETS_KEY (another
// environment's): every credential becomes unreadable, and each PUT would write a value
// under the wrong key beside the ones it cannot open. The start-up check refuses it.

let db: Db;
const ids = { next: () => randomUUID() };
const newKey = () => randomBytes(32).toString('base64');
const right = newKey();

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
  const tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  const cipher = createSecretCipher({ current: right, previous: undefined });
  await createCredentialStore({ pool: db.pool, ids, cipher }).create(tenantId, 'api', {
    token: 'tok-1234',
  });
});
afterAll(() => db.close());

const issues = (current: string | undefined, previous?: string) =>
  secretsKeyIssues({ pool: db.pool, cipher: createSecretCipher({ current, previous }) });

describe('the start-up check of the secrets key', () => {
  it('passes with the key the credentials were written under, current or previous', async () => {
    expect(await issues(right)).toEqual([]);
    expect(await issues(newKey(), right)).toEqual([]);
  });

  it('passes without a key (credentials are off)', async () => {
    expect(await issues(undefined)).toEqual([]);
  });

  it('names the variable when no stored credential is under a configured key', async () => {
    const found = await issues(newKey(), newKey());
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^LINKFLOW_SECRETS_KEY: opens none of the \d+ stored credential/);
  });
});
