import { createHash, randomBytes } from 'node:crypto';
import type { IdGen } from '@linkflow/domain';
import type { PrismaClient } from './generated/prisma/client.ts';

export interface ApiKeyPrincipal {
  readonly keyId: string;
  readonly tenantId: string;
  readonly scopes: readonly string[];
}

/** sha256 hex of a presented key; only the hash is stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** API keys and tenants. Keys look like `lf_<43 base64url chars>`. */
export function createApiKeyRepository(deps: { prisma: PrismaClient; ids: IdGen }) {
  const { prisma, ids } = deps;
  return {
    /** Finds or creates the tenant named `name`; returns its id. */
    async ensureTenant(name: string): Promise<string> {
      const tenant = await prisma.tenant.upsert({
        where: { name },
        update: {},
        create: { id: ids.next(), name },
      });
      return tenant.id;
    },

    /** Creates a key for a tenant and returns the plaintext (shown once). */
    async createKey(
      tenantId: string,
      scopes: readonly string[],
    ): Promise<{ id: string; key: string }> {
      const key = `lf_${randomBytes(32).toString('base64url')}`;
      const id = ids.next();
      await prisma.apiKey.create({
        data: {
          id,
          tenantId,
          keyHash: hashApiKey(key),
          prefix: key.slice(0, 10),
          scopes: [...scopes],
        },
      });
      return { id, key };
    },

    /** The principal for a presented key, or undefined when unknown or revoked. */
    async authenticate(key: string): Promise<ApiKeyPrincipal | undefined> {
      const row = await prisma.apiKey.findUnique({ where: { keyHash: hashApiKey(key) } });
      if (!row || row.revokedAt) return undefined;
      return { keyId: row.id, tenantId: row.tenantId, scopes: row.scopes };
    },
  };
}

export type ApiKeyRepository = ReturnType<typeof createApiKeyRepository>;
