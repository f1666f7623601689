// pg pools for the schema engine process, with the catalog-type workaround.
import pg from 'pg';

// prisma/orm#27403: @prisma/adapter-pg cannot describe result columns typed `"char"` (OID 18)
// and, in some versions, `name` (OID 19); migration introspection reads both from pg_catalog.
// Their text representation is a plain string, so relabelling the column as `text` (OID 25)
// is lossless. Only this process's pools are patched.
const CATALOG_TEXT_OIDS = new Set([18, 19]);
const TEXT_OID = 25;

function relabelFields(result) {
  for (const one of Array.isArray(result) ? result : [result]) {
    for (const field of one?.fields ?? []) {
      if (CATALOG_TEXT_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
    }
  }
  return result;
}

/** Wraps `client.query` so every result (promise or callback style) is relabelled. */
function patchClient(client) {
  const original = client.query.bind(client);
  client.query = (config, values, callback) => {
    const cb = typeof values === 'function' ? values : callback;
    if (typeof cb === 'function') {
      const wrapped = (err, res) => cb(err, err ? res : relabelFields(res));
      return typeof values === 'function'
        ? original(config, wrapped)
        : original(config, values, wrapped);
    }
    const out = original(config, values);
    return typeof out?.then === 'function' ? out.then(relabelFields) : out;
  };
}

/**
 * Splits Prisma's `?schema=` parameter off a connection string (pg does not know it).
 * @param {string} url
 * @returns {{ connectionString: string, schema: string | undefined }}
 */
export function splitSchemaParam(url) {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

/**
 * Creates a pool whose clients report catalog `"char"`/`name` columns as text.
 * @param {string} url Postgres connection string (may carry `?schema=`).
 */
export function createEnginePool(url) {
  const { connectionString, schema } = splitSchemaParam(url);
  const options = schema ? `-c search_path="${schema.replaceAll('"', '""')}"` : undefined;
  const pool = new pg.Pool({ connectionString, max: 4, ...(options ? { options } : {}) });
  pool.on('connect', patchClient);
  pool.on('error', () => {}); // idle-client errors surface on the next query instead
  return { pool, schema };
}

/** Name of the database a connection string points at. */
export function databaseName(url) {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  return name || new URL(url).username || 'postgres';
}

/** The same server and credentials, another database (query parameters kept). */
export function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Double-quotes an SQL identifier. */
export function quoteIdent(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Runs one statement on the server's maintenance database (`postgres`, else `template1`),
 * for CREATE/DROP DATABASE which cannot run against the target database itself.
 */
export async function runOnServer(url, sql) {
  let lastError;
  for (const maintenance of ['postgres', 'template1']) {
    const client = new pg.Client({
      connectionString: splitSchemaParam(withDatabase(url, maintenance)).connectionString,
    });
    try {
      await client.connect();
      return await client.query(sql);
    } catch (error) {
      lastError = error;
      if (error?.code !== '3D000') throw error; // only retry when the maintenance db is missing
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw lastError;
}
