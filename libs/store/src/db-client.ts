import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/prisma/client.ts';

/** Options for {@link createDb}. */
export interface DbOptions {
  /** Postgres connection string; a Prisma-style `?schema=name` selects the schema. */
  readonly url: string;
  /** Pool size shared by Prisma and raw `pg` queries. Default 10. */
  readonly maxConnections?: number;
  /**
   * Called when an idle pooled connection fails (e.g. Postgres restarted). pg discards that
   * connection and the next query opens a new one, so this is for logging only. Without a
   * listener such an error would crash the process. Default: ignore.
   */
  readonly onPoolError?: (err: Error) => void;
  /** Shown as `application_name` in `pg_stat_activity`, so operators can tell processes apart. */
  readonly applicationName?: string;
}

/** One Postgres pool, used both by Prisma (through the `pg` driver adapter) and raw queries. */
export interface Db {
  readonly prisma: PrismaClient;
  /** The same pool Prisma uses: for hot paths and batched statements in raw SQL. */
  readonly pool: pg.Pool;
  /** Disconnects Prisma, then ends the pool. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_MAX_CONNECTIONS = 10;

// The workspace pins @types/pg 8.15.6 while @prisma/adapter-pg brings its own newer copy, so
// TypeScript sees two `Pool` types; at runtime there is one `pg` install and one class. Drop
// this alias and the cast below once the root @types/pg matches the adapter's.
type AdapterPool = ConstructorParameters<typeof PrismaPg>[0];

/** Splits Prisma's `?schema=` parameter off the URL; pg itself does not understand it. */
function parseUrl(url: string): { connectionString: string; schema: string | undefined } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

/**
 * Session options for every pooled connection. `force_generic_plan` makes the named
 * (prepared) hot-path statements plan once per connection: their multi-CTE plans cost
 * ~6 ms to build, several times their execution. Unnamed statements are unaffected.
 * `statement_timeout` (60 s) bounds any statement of ours; node `db` pools are separate.
 */
function sessionOptions(schema: string | undefined): string {
  const opts = ['-c plan_cache_mode=force_generic_plan', '-c statement_timeout=60000'];
  if (schema !== undefined) opts.push(`-c search_path="${schema.replaceAll('"', '""')}"`);
  return opts.join(' ');
}

function createPool(
  options: DbOptions,
  schema: string | undefined,
  connectionString: string,
): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
    options: sessionOptions(schema),
    // Never wait forever: a hung connect or query must surface as an error (and be retried).
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  pool.on('error', options.onPoolError ?? (() => {}));
  return pool;
}

/**
 * Builds the store's database handle: a `pg.Pool` and a `PrismaClient` over it via
 * `@prisma/adapter-pg`. Connections open lazily, on the first query.
 */
export function createDb(options: DbOptions): Db {
  const { connectionString, schema } = parseUrl(options.url);
  const pool = createPool(options, schema, connectionString);
  const adapter = new PrismaPg(
    pool as unknown as AdapterPool,
    schema === undefined ? undefined : { schema },
  );
  const prisma = new PrismaClient({ adapter });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await prisma.$disconnect();
      await pool.end();
    })();
    return closing;
  };
  return { prisma, pool, close };
}
