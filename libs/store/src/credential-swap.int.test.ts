import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createCredentialStore, resolveSecrets } from './credential-store.ts';
import { createDb, type Db } from './db-client.ts';
import { createSecretCipher } from './secret-cipher.ts';

// Attack with write access to the credentials table (a backup restored into the wrong row, an
// SQL injection elsewhere): ciphertexts moved between tenants, credentials or keys, with their
// key_id, must not open in their new place (the place is the associated data).

let db: Db;
const ids = { next: () => randomUUID() };
const key = randomBytes(32).toString('base64');
const cipher = createSecretCipher({ current: key, previous: undefined });
const VALUE_A = `victim-${randomUUID()}`;

beforeAll(() => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
});
afterAll(() => db.close());

const tenant = () =>
  createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(`t-${randomUUID()}`);

async function sealedOf(tenantId: string, name: string): Promise<Record<string, string>> {
  const res = await db.pool.query<{ secrets: Record<string, string> }>(
    'select secrets from credentials where tenant_id = $1 and name = $2',
    [tenantId, name],
  );
  return res.rows[0]?.secrets ?? {};
}

async function overwrite(tenantId: string, name: string, secrets: Record<string, string>) {
  await db.pool.query('update credentials set secrets = $3 where tenant_id = $1 and name = $2', [
    tenantId,
    name,
    secrets,
  ]);
}

describe('a ciphertext moved to another place', () => {
  it('does not open for another tenant, another credential or another key', async () => {
    const [victim, attacker] = [await tenant(), await tenant()];
    const store = createCredentialStore({ pool: db.pool, ids, cipher });
    await store.create(victim, 'api', { token: VALUE_A, other: 'victim-other' });
    await store.create(attacker, 'api', { token: 'mine-1234', other: 'mine-5678' });
    await store.create(victim, 'api2', { token: 'victim-api2' });
    const stolen = await sealedOf(victim, 'api');
    const deps = { pool: db.pool, cipher };
    const attempt = (t: string, name: string, k: string) =>
      resolveSecrets(deps, t, [{ name, key: k }]).catch((e: unknown) => e);

    await overwrite(attacker, 'api', stolen);
    expect(await attempt(attacker, 'api', 'token')).toMatchObject({
      code: 'CREDENTIAL_UNREADABLE',
    });
    await overwrite(victim, 'api2', { token: stolen.token ?? '' });
    expect(await attempt(victim, 'api2', 'token')).toMatchObject({ code: 'CREDENTIAL_UNREADABLE' });
    await overwrite(victim, 'api', { token: stolen.other ?? '', other: stolen.token ?? '' });
    expect(await attempt(victim, 'api', 'other')).toMatchObject({ code: 'CREDENTIAL_UNREADABLE' });
    for (const t of [victim, attacker])
      for (const n of ['api', 'api2'])
        expect(JSON.stringify(await attempt(t, n, 'token'))).not.toContain(VALUE_A);
  });
});
