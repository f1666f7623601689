import type pg from 'pg';
import type { SecretCipher } from './secret-cipher.ts';
import { credentialErrors } from './credential-errors.ts';

/** One batch of {@link reencryptCredentials}. */
export interface ReencryptBatch {
  /** Credentials now under the current key. */
  readonly reencrypted: number;
  /** Credentials that no configured key opens (left as they are), as `tenant/name`. */
  readonly unreadable: readonly string[];
  /** Where the next batch starts; undefined when this was the last one. */
  readonly next: string | undefined;
}

interface RotRow {
  id: string;
  tenant_id: string;
  name: string;
  secrets: Record<string, string>;
  key_id: string;
}

/**
 * Re-encrypts up to `limit` credentials that are not under the current key (ordered by id,
 * after `after`), each batch in its own transaction with the rows locked, so a concurrent
 * rotation (PUT) waits instead of being overwritten. Resumable: every committed batch is
 * done, and a new run starts over with whatever is still under an old key. `updated_at` is
 * left alone: the data did not change.
 * @throws AppError SECRETS_KEY_MISSING without a current key.
 */
export async function reencryptCredentials(
  deps: { readonly pool: pg.Pool; readonly cipher: SecretCipher },
  batch: {
    readonly limit: number;
    readonly after?: string | undefined;
    /** Only this tenant's credentials (all tenants when absent). */
    readonly tenantId?: string | undefined;
  },
): Promise<ReencryptBatch> {
  const keyId = deps.cipher.keyId;
  if (keyId === undefined) throw credentialErrors.keyMissing();
  const client = await deps.pool.connect();
  try {
    await client.query('begin');
    const res = await client.query<RotRow>(
      `select id, tenant_id, name, secrets, key_id from credentials
        where key_id <> $1 and id > $2 and ($4::text is null or tenant_id = $4)
        order by id limit $3 for update`,
      [keyId, batch.after ?? '', batch.limit, batch.tenantId ?? null],
    );
    const unreadable: string[] = [];
    let reencrypted = 0;
    for (const row of res.rows) {
      const secrets = reseal(deps.cipher, row);
      if (secrets === undefined) {
        unreadable.push(`${row.tenant_id}/${row.name}`);
        continue;
      }
      await client.query('update credentials set secrets = $2, key_id = $3 where id = $1', [
        row.id,
        secrets,
        keyId,
      ]);
      reencrypted++;
    }
    await client.query('commit');
    const last = res.rows.at(-1);
    return { reencrypted, unreadable, next: res.rows.length < batch.limit ? undefined : last?.id };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The row's values under the current key, or undefined when a value cannot be opened. */
function reseal(cipher: SecretCipher, row: RotRow): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [key, sealed] of Object.entries(row.secrets)) {
    const place = { tenantId: row.tenant_id, name: row.name, key };
    try {
      out[key] = cipher.seal(cipher.open(sealed, place, row.key_id), place);
    } catch {
      return undefined;
    }
  }
  return out;
}

/** What {@link reencryptAll} did. */
export interface ReencryptSummary {
  /** Credentials it re-encrypted. */
  readonly reencrypted: number;
  /** Credentials no configured key opens, as `tenant/name`. */
  readonly unreadable: readonly string[];
  /** Credentials still under an old key when it finished (the unreadable ones included). */
  readonly remaining: number;
}

/** Most passes over the table: a writer still on the old key could otherwise keep it busy. */
const MAX_PASSES = 3;

/**
 * Re-encrypts every credential in batches of `limit`, then passes over the table again while
 * a pass found something: a writer still configured with the old key as current (an API
 * instance not yet redeployed) can put a row back under it behind the first pass's cursor.
 * `remaining` counts what is still under an old key at the end, so "nothing left" is checked,
 * not assumed, before the previous key is dropped.
 * @throws AppError SECRETS_KEY_MISSING without a current key.
 */
export async function reencryptAll(
  deps: { readonly pool: pg.Pool; readonly cipher: SecretCipher },
  options: {
    readonly limit: number;
    /** Only this tenant's credentials (all tenants when absent). */
    readonly tenantId?: string | undefined;
    /** Called after each committed batch (progress). */
    readonly onBatch?: (batch: ReencryptBatch) => unknown;
  },
): Promise<ReencryptSummary> {
  const { limit, tenantId } = options;
  let reencrypted = 0;
  let unreadable: string[] = [];
  for (let pass = 0, found = true; found && pass < MAX_PASSES; pass++) {
    found = false;
    unreadable = [];
    let after: string | undefined;
    do {
      const batch = await reencryptCredentials(deps, { limit, after, tenantId });
      await options.onBatch?.(batch);
      reencrypted += batch.reencrypted;
      found ||= batch.reencrypted > 0;
      unreadable.push(...batch.unreadable);
      after = batch.next;
    } while (after !== undefined);
  }
  const left = await deps.pool.query<{ n: number }>(
    `select count(*)::int as n from credentials
      where key_id <> $1 and ($2::text is null or tenant_id = $2)`,
    [deps.cipher.keyId, tenantId ?? null],
  );
  return { reencrypted, unreadable, remaining: left.rows[0]?.n ?? 0 };
}

/**
 * Start-up check of the configured keys against the stored credentials: when credentials
 * exist and none of them is under a configured key, the key is wrong (a typo, another
 * environment's key), and a process that went on would write new values under it beside
 * values it cannot open. Returns the issue to report (exit 78), none when the keys fit,
 * when no key is configured (credentials are off) or when there are no credentials.
 */
export async function secretsKeyIssues(deps: {
  readonly pool: pg.Pool;
  readonly cipher: SecretCipher;
}): Promise<string[]> {
  if (deps.cipher.keyId === undefined) return [];
  const res = await deps.pool.query<{ known: number; total: number }>(
    `select count(*) filter (where key_id = any($1::text[]))::int as known, count(*)::int as total
       from credentials`,
    [deps.cipher.keyIds],
  );
  const { known = 0, total = 0 } = res.rows[0] ?? {};
  if (total === 0 || known > 0) return [];
  return [
    `LINKFLOW_SECRETS_KEY: opens none of the ${total} stored credential(s); ` +
      'a wrong key? (the key they were written under must be current or previous)',
  ];
}
