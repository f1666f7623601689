import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { reencryptCredentials } from './credential-rotation.ts';
import { createCredentialStore, resolveSecrets } from './credential-store.ts';
import { createDb, type Db } from './db-client.ts';
import { createSecretCipher } from './secret-cipher.ts';
import { createWorkflowRepository } from './workflow-repository.ts';

// The credential store on the real database: ciphertext only, counted resolution, references,
// and key rotation (re-encryption in resumable batches).

let db: Db;
let tenantId: string;
const ids = { next: () => randomUUID() };
const newKey = () => randomBytes(32).toString('base64');
const keyA = newKey();
const keyB = newKey();
const VALUE = `tok-${randomUUID()}`;

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 3 });
  tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
});
afterAll(async () => db.close());

const storeWith = (current: string | undefined, previous?: string) => {
  const cipher = createSecretCipher({ current, previous });
  return { cipher, store: createCredentialStore({ pool: db.pool, ids, cipher }) };
};

describe('credential store', () => {
  it('stores only ciphertext, with a distinct IV per value', async () => {
    const { store } = storeWith(keyA);
    await store.create(tenantId, 'plain-check', { token: VALUE, again: VALUE });
    const raw = await db.pool.query<{ secrets: Record<string, string>; text: string }>(
      `select secrets, row_to_json(c)::text as text from credentials c where tenant_id = $1 and name = 'plain-check'`,
      [tenantId],
    );
    const row = raw.rows[0];
    expect(row?.text).not.toContain(VALUE);
    expect(row?.text).not.toContain(Buffer.from(VALUE).toString('base64'));
    expect(row?.secrets['token']).not.toBe(row?.secrets['again']);
  });

  it('answers exists for a second credential of the same name', async () => {
    const { store } = storeWith(keyA);
    await store.create(tenantId, 'dup', { token: 'abcd' });
    expect(await store.create(tenantId, 'dup', { token: 'efgh' })).toBe('exists');
  });

  it('resolves the referenced values and counts each resolution in the same statement', async () => {
    const { store, cipher } = storeWith(keyA);
    await store.create(tenantId, 'api', { token: VALUE, other: 'x1234' });
    const refs = [{ name: 'api', key: 'token' }];
    const out = await resolveSecrets({ pool: db.pool, cipher }, tenantId, refs);
    expect(out).toEqual({ ok: true, secrets: new Map([['api', { token: VALUE }]]) });
    await resolveSecrets({ pool: db.pool, cipher }, tenantId, refs);
    const record = await store.get(tenantId, 'api');
    expect(record?.useCount).toBe(2);
    expect(record?.lastUsedAt).toBeInstanceOf(Date);
    expect(record?.keys).toEqual(['other', 'token']);
  });

  it('names a missing credential or key and never returns a partial map', async () => {
    const { store, cipher } = storeWith(keyA);
    await store.create(tenantId, 'partial', { token: 'abcdef' });
    const deps = { pool: db.pool, cipher };
    expect(await resolveSecrets(deps, tenantId, [{ name: 'nope', key: 'x' }])).toEqual({
      ok: false,
      missing: "credential 'nope' does not exist",
    });
    const both = [
      { name: 'partial', key: 'token' },
      { name: 'partial', key: 'constructor' },
    ];
    expect(await resolveSecrets(deps, tenantId, both)).toEqual({
      ok: false,
      missing: "credential 'partial' has no key 'constructor'",
    });
  });

  it('refuses writes and resolution without a key (SECRETS_KEY_MISSING)', async () => {
    const { store, cipher } = storeWith(undefined);
    await expect(store.create(tenantId, 'nokey', { token: 'abcd' })).rejects.toMatchObject({
      code: 'SECRETS_KEY_MISSING',
    });
    await expect(
      resolveSecrets({ pool: db.pool, cipher }, tenantId, [{ name: 'api', key: 'token' }]),
    ).rejects.toMatchObject({ code: 'SECRETS_KEY_MISSING' });
  });

  it('keeps other tenants out', async () => {
    const other = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
      `t-${randomUUID()}`,
    );
    const { store, cipher } = storeWith(keyA);
    expect(await store.get(other, 'api')).toBeUndefined();
    expect(await store.replace(other, 'api', { token: 'zzzz' })).toBeUndefined();
    expect((await store.delete(other, 'api')).kind).toBe('not_found');
    const out = await resolveSecrets({ pool: db.pool, cipher }, other, [
      { name: 'api', key: 'token' },
    ]);
    expect(out.ok).toBe(false);
  });

  it('lists the workflows whose latest version references a credential and refuses to delete it', async () => {
    const { store } = storeWith(keyA);
    await store.create(tenantId, 'ref-me', { token: 'abcd' });
    const workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
    const node = (url: string) => ({
      name: 'uses',
      nodes: [{ id: 'a', type: 'http', config: { url } }],
    });
    const wf = await workflows.create(tenantId, node('https://x/{{ secrets.ref-me.token }}'));
    expect((await store.get(tenantId, 'ref-me'))?.workflows).toEqual([{ id: wf.id, name: 'uses' }]);
    expect(await store.delete(tenantId, 'ref-me')).toEqual({
      kind: 'referenced',
      workflows: [{ id: wf.id, name: 'uses' }],
    });
    await workflows.addVersion(tenantId, wf.id, node('https://x/'));
    expect((await store.get(tenantId, 'ref-me'))?.workflows).toEqual([]);
    expect(await store.delete(tenantId, 'ref-me')).toEqual({ kind: 'deleted' });
  });
});

describe('key rotation', () => {
  it('decrypts with the previous key and re-encrypts in resumable batches', async () => {
    const rotTenant = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
      `t-${randomUUID()}`,
    );
    const old = storeWith(keyA);
    for (const n of ['r1', 'r2', 'r3'])
      await old.store.create(rotTenant, n, { token: `${n}-${VALUE}` });
    const rotated = storeWith(keyB, keyA);
    const deps = { pool: db.pool, cipher: rotated.cipher };
    const refs = [{ name: 'r2', key: 'token' }];
    expect(await resolveSecrets(deps, rotTenant, refs)).toMatchObject({ ok: true });

    // One batch, then a "crash": a new run picks up what is left.
    const first = await reencryptCredentials(deps, { limit: 1, tenantId: rotTenant });
    expect(first.reencrypted).toBe(1);
    expect(first.next).toBeDefined();
    let after: string | undefined;
    let total = first.reencrypted;
    do {
      const batch = await reencryptCredentials(deps, { limit: 2, after, tenantId: rotTenant });
      total += batch.reencrypted;
      after = batch.next;
    } while (after !== undefined);
    expect(total).toBe(3);
    const left = await db.pool.query(
      'select count(*)::int as n from credentials where tenant_id = $1 and key_id <> $2',
      [rotTenant, rotated.cipher.keyId],
    );
    expect(left.rows[0]).toEqual({ n: 0 });
    // Only the new key now: every value still opens.
    const onlyNew = {
      pool: db.pool,
      cipher: createSecretCipher({ current: keyB, previous: undefined }),
    };
    for (const n of ['r1', 'r2', 'r3'])
      expect(await resolveSecrets(onlyNew, rotTenant, [{ name: n, key: 'token' }])).toEqual({
        ok: true,
        secrets: new Map([[n, { token: `${n}-${VALUE}` }]]),
      });
  });

  it('fails clearly (CREDENTIAL_UNREADABLE) under a key it does not have', async () => {
    const t = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
      `t-${randomUUID()}`,
    );
    await storeWith(keyA).store.create(t, 'lost', { token: VALUE });
    const stranger = {
      pool: db.pool,
      cipher: createSecretCipher({ current: newKey(), previous: undefined }),
    };
    const err: unknown = await resolveSecrets(stranger, t, [{ name: 'lost', key: 'token' }]).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'CREDENTIAL_UNREADABLE' });
    expect(String((err as Error).message)).not.toContain(VALUE);
  });
});
