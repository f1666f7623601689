import type pg from 'pg';
import { referencedCredentialNames, type IdGen, type SecretRef } from '@linkflow/domain';
import type { SecretCipher } from './secret-cipher.ts';
import { credentialErrors } from './credential-errors.ts';

/** A credential as the API shows it: never a value. */
export interface CredentialRecord {
  readonly name: string;
  /** The keys of its data, sorted. */
  readonly keys: readonly string[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastUsedAt: Date | null;
  readonly useCount: number;
  /** Live workflows whose latest version references it. */
  readonly workflows: readonly { readonly id: string; readonly name: string }[];
}

/** Outcome of deleting a credential. */
export type CredentialDeleteOutcome =
  | { readonly kind: 'deleted' | 'not_found' }
  | { readonly kind: 'referenced'; readonly workflows: CredentialRecord['workflows'] };

interface Row {
  name: string;
  secrets: Record<string, string>;
  created_at: Date;
  updated_at: Date;
  last_used_at: Date | null;
  use_count: string;
}

const COLUMNS = 'name, secrets, created_at, updated_at, last_used_at, use_count';

/**
 * The latest versions of a tenant's live workflows that mention `secrets` at all; which
 * credentials they reference is read from the definition itself
 * ({@link referencedCredentialNames}), with the whitespace the template compiler accepts: a
 * regex over the jsonb text missed `{{\nsecrets.x.y }}` (a newline is `\n` there).
 */
const REFERENCES_SQL = `
  select w.id, w.name, v.definition
    from workflows w
    join workflow_versions v on v.workflow_id = w.id and v.version = w.latest_version
   where w.tenant_id = $1 and w.deleted_at is null
     and strpos(v.definition::text, 'secrets') > 0
   order by w.created_at, w.id`;

type Referrers = ReadonlyMap<string, CredentialRecord['workflows']>;

async function referrers(pool: pg.Pool, tenantId: string): Promise<Referrers> {
  const res = await pool.query<{ id: string; name: string; definition: unknown }>(REFERENCES_SQL, [
    tenantId,
  ]);
  const out = new Map<string, { id: string; name: string }[]>();
  for (const row of res.rows)
    for (const ref of referencedCredentialNames(row.definition))
      out.set(ref, [...(out.get(ref) ?? []), { id: row.id, name: row.name }]);
  return out;
}

const toRecord = (row: Row, refs: Referrers): CredentialRecord => ({
  name: row.name,
  keys: Object.keys(row.secrets).sort(),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  lastUsedAt: row.last_used_at,
  useCount: Number(row.use_count),
  workflows: refs.get(row.name) ?? [],
});

/** Seals every value of `data` under the current key, each with its own IV and place. */
function sealAll(
  cipher: SecretCipher,
  where: { tenantId: string; name: string },
  data: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, cipher.seal(value, { ...where, key })]),
  );
}

/** What {@link createCredentialStore} needs. */
export interface CredentialStoreDeps {
  readonly pool: pg.Pool;
  readonly ids: IdGen;
  readonly cipher: SecretCipher;
}

/**
 * A tenant's credentials in Postgres: values only as AES-256-GCM ciphertext (see
 * {@link SecretCipher}), reads never decrypt (the API shows keys, never values); only
 * {@link resolveSecrets} (the executor) does. Writes need a key
 * (@throws AppError SECRETS_KEY_MISSING otherwise).
 */
export function createCredentialStore(deps: CredentialStoreDeps) {
  const { pool, ids, cipher } = deps;
  return {
    /** Stores a new credential; `exists` when the tenant has one of that name. */
    async create(
      tenantId: string,
      name: string,
      data: Readonly<Record<string, string>>,
    ): Promise<CredentialRecord | 'exists'> {
      const secrets = sealAll(cipher, { tenantId, name }, data);
      const res = await pool.query<Row>(
        `insert into credentials (id, tenant_id, name, secrets, key_id) values ($1, $2, $3, $4, $5)
         on conflict (tenant_id, name) do nothing returning ${COLUMNS}`,
        [ids.next(), tenantId, name, secrets, cipher.keyId],
      );
      const row = res.rows[0];
      return row === undefined ? 'exists' : toRecord(row, new Map());
    },

    /** Replaces a credential's data (rotation); undefined when the tenant has none of that name. */
    async replace(
      tenantId: string,
      name: string,
      data: Readonly<Record<string, string>>,
    ): Promise<CredentialRecord | undefined> {
      const secrets = sealAll(cipher, { tenantId, name }, data);
      const res = await pool.query<Row>(
        `update credentials set secrets = $3, key_id = $4, updated_at = now()
          where tenant_id = $1 and name = $2 returning ${COLUMNS}`,
        [tenantId, name, secrets, cipher.keyId],
      );
      const row = res.rows[0];
      return row === undefined ? undefined : toRecord(row, await referrers(pool, tenantId));
    },

    /** The tenant's credentials by name, `limit` after the name `after`. */
    async list(
      tenantId: string,
      page: { limit: number; after?: string | undefined },
    ): Promise<CredentialRecord[]> {
      const res = await pool.query<Row>(
        `select ${COLUMNS} from credentials where tenant_id = $1 and name > $2 order by name limit $3`,
        [tenantId, page.after ?? '', page.limit],
      );
      const refs = res.rows.length === 0 ? new Map() : await referrers(pool, tenantId);
      return res.rows.map((row) => toRecord(row, refs));
    },

    async get(tenantId: string, name: string): Promise<CredentialRecord | undefined> {
      const res = await pool.query<Row>(
        `select ${COLUMNS} from credentials where tenant_id = $1 and name = $2`,
        [tenantId, name],
      );
      const row = res.rows[0];
      return row === undefined ? undefined : toRecord(row, await referrers(pool, tenantId));
    },

    /** name → keys of every credential of the tenant (what workflow validation checks). */
    async keysByName(tenantId: string): Promise<Map<string, string[]>> {
      const res = await pool.query<{ name: string; keys: string[] }>(
        `select name, array(select jsonb_object_keys(secrets)) as keys
           from credentials where tenant_id = $1`,
        [tenantId],
      );
      return new Map(res.rows.map((r) => [r.name, r.keys]));
    },

    /** Deletes a credential unless the latest version of a live workflow references it. */
    async delete(tenantId: string, name: string): Promise<CredentialDeleteOutcome> {
      const workflows = (await referrers(pool, tenantId)).get(name) ?? [];
      if (workflows.length > 0) return { kind: 'referenced', workflows };
      const res = await pool.query('delete from credentials where tenant_id = $1 and name = $2', [
        tenantId,
        name,
      ]);
      return { kind: res.rowCount === 0 ? 'not_found' : 'deleted' };
    },
  };
}

/** The credential store's API as the API app uses it. */
export type CredentialStore = ReturnType<typeof createCredentialStore>;

/** A resolution's answer: the values by credential, or what is missing. */
export type ResolveOutcome =
  | { readonly ok: true; readonly secrets: Map<string, Record<string, string>> }
  | { readonly ok: false; readonly missing: string };

/**
 * Decrypts the values `refs` name, for one node run of `tenantId`, and counts the use of
 * each credential (`use_count`, `last_used_at`) in the same statement: resolving costs one
 * round trip, counting included. Missing credentials or keys come back as `missing` (the
 * node fails VALIDATION), never as a partial map.
 * @throws AppError SECRETS_KEY_MISSING or CREDENTIAL_UNREADABLE.
 */
export async function resolveSecrets(
  deps: Pick<CredentialStoreDeps, 'pool' | 'cipher'>,
  tenantId: string,
  refs: readonly SecretRef[],
): Promise<ResolveOutcome> {
  if (deps.cipher.keyId === undefined) throw credentialErrors.keyMissing();
  const names = [...new Set(refs.map((r) => r.name))];
  const res = await deps.pool.query<{
    name: string;
    secrets: Record<string, string>;
    key_id: string;
  }>(
    `update credentials set use_count = use_count + 1, last_used_at = now()
      where tenant_id = $1 and name = any($2::text[]) returning name, secrets, key_id`,
    [tenantId, names],
  );
  const rows = new Map(res.rows.map((row) => [row.name, row]));
  const secrets = new Map<string, Record<string, string>>();
  for (const ref of refs) {
    const row = rows.get(ref.name);
    if (row === undefined) return { ok: false, missing: `credential '${ref.name}' does not exist` };
    const sealed = Object.hasOwn(row.secrets, ref.key) ? row.secrets[ref.key] : undefined;
    if (typeof sealed !== 'string')
      return { ok: false, missing: `credential '${ref.name}' has no key '${ref.key}'` };
    const value = deps.cipher.open(sealed, { tenantId, name: ref.name, key: ref.key }, row.key_id);
    secrets.set(ref.name, { ...secrets.get(ref.name), [ref.key]: value });
  }
  return { ok: true, secrets };
}
