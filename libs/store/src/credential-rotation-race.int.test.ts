import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { reencryptAll } from './credential-rotation.ts';
import { createCredentialStore, resolveSecrets } from './credential-store.ts';
import { createDb, type Db } from './db-client.ts';
import { createSecretCipher } from './secret-cipher.ts';

// The unlucky operator: `make rotate-secrets` runs while an API instance still has the old
// key as its current one (not yet redeployed) and a tenant rotates a credential (PUT) that
// the run has already passed. The row is back under the old key behind the cursor; a run
// that then says "done" invites dropping the previous key, and the credential is lost.

let db: Db;
const ids = { next: () => randomUUID() };
const keyOld = randomBytes(32).toString('base64');
const keyNew = randomBytes(32).toString('base64');

beforeAll(() => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 3 });
});
afterAll(() => db.close());

describe('re-encryption with a writer still on the old key', () => {
  it('passes again over rows written back under the old key and counts what is left', async () => {
    const tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
      `t-${randomUUID()}`,
    );
    const stale = createCredentialStore({
      pool: db.pool,
      ids,
      cipher: createSecretCipher({ current: keyOld, previous: undefined }),
    });
    for (const n of ['r1', 'r2', 'r3'])
      await stale.create(tenantId, n, { token: `${n}-old-value` });
    const cipher = createSecretCipher({ current: keyNew, previous: keyOld });
    let batches = 0;
    let rotated = '';
    const summary = await reencryptAll(
      { pool: db.pool, cipher },
      {
        limit: 1,
        tenantId,
        // After the first batch, the stale API instance rotates the credential it just did.
        onBatch: async () => {
          if (++batches !== 1) return;
          const done = await db.pool.query<{ name: string }>(
            'select name from credentials where tenant_id = $1 and key_id = $2',
            [tenantId, cipher.keyId],
          );
          rotated = done.rows[0]?.name ?? '';
          await stale.replace(tenantId, rotated, { token: 'rotated-value' });
        },
      },
    );
    expect(summary).toMatchObject({ unreadable: [], remaining: 0 });
    const onlyNew = {
      pool: db.pool,
      cipher: createSecretCipher({ current: keyNew, previous: undefined }),
    };
    expect(await resolveSecrets(onlyNew, tenantId, [{ name: rotated, key: 'token' }])).toEqual({
      ok: true,
      secrets: new Map([[rotated, { token: 'rotated-value' }]]),
    });
  });
});
