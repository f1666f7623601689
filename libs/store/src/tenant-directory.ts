import type pg from 'pg';
import type { TenantRef } from '@linkflow/domain';

/** Tenant ids to names, for rules written with names (a db connection's `tenants` list). */
export interface TenantDirectory {
  /** `{id, name}`; `name` is undefined for an unknown id. Names never change, so they are cached. */
  readonly ref: (tenantId: string) => Promise<TenantRef>;
}

/**
 * A cached id → name lookup. Tenants are never renamed, so a found name is kept for the life of
 * the process (up to `maxEntries`; past that the oldest entry goes); unknown ids are not cached.
 */
export function createTenantDirectory(
  deps: { pool: pg.Pool },
  maxEntries = 10_000,
): TenantDirectory {
  const names = new Map<string, string>();
  return {
    // An arrow, so `directory.ref` can be passed on unbound.
    ref: async (tenantId) => {
      const cached = names.get(tenantId);
      if (cached !== undefined) return { id: tenantId, name: cached };
      const res = await deps.pool.query<{ name: string }>(
        'select name from tenants where id = $1',
        [tenantId],
      );
      const name = res.rows[0]?.name;
      if (name === undefined) return { id: tenantId };
      if (names.size >= maxEntries) names.delete(names.keys().next().value as string);
      names.set(tenantId, name);
      return { id: tenantId, name };
    },
  };
}
