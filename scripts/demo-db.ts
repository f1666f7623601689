/**
 * `make up`'s demo target for `db` nodes: a least-privileged role and its own database with a
 * small `orders` table, never LinkFlow's own database. Idempotent (run it any number of times;
 * it also re-applies the role's attributes and grants). Run directly, it uses $DATABASE_URL's
 * server and role (which must be able to create roles and databases) and prints the demo
 * connection URL alone on the last line.
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { AppError } from '@linkflow/domain';

export interface DemoDatabaseOptions {
  /** A URL on the target server whose role may create roles and databases. */
  readonly adminUrl: string;
  readonly role: string;
  readonly database: string;
  readonly password: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'linkflow-demo-setup' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function urlWithDatabase(url: string, database: string, auth?: { user: string; password: string }) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  parsed.search = '';
  if (auth) {
    parsed.username = auth.user;
    parsed.password = auth.password;
  }
  return parsed.toString();
}

/** Role attributes and defaults, re-applied every run so drift is corrected. */
async function ensureRole(client: pg.Client, o: DemoDatabaseOptions): Promise<void> {
  const found = await client.query('select 1 from pg_roles where rolname = $1', [o.role]);
  if (found.rowCount === 0) await client.query(`create role ${o.role} login`);
  const password = (
    await client.query<{ q: string }>('select quote_literal($1) as q', [o.password])
  ).rows[0]?.q;
  await client.query(
    `alter role ${o.role} login nosuperuser nocreatedb nocreaterole noreplication nobypassrls
       connection limit 20 password ${password ?? "''"}`,
  );
  await client.query(`alter role ${o.role} set statement_timeout = '30s'`);
  await client.query(`alter role ${o.role} set idle_in_transaction_session_timeout = '60s'`);
}

/** The database (owned by the admin, not the demo role) and who may connect to it. */
async function ensureDatabase(client: pg.Client, o: DemoDatabaseOptions): Promise<void> {
  const found = await client.query('select 1 from pg_database where datname = $1', [o.database]);
  if (found.rowCount === 0) await client.query(`create database ${o.database}`);
  await client.query(`revoke all on database ${o.database} from public`);
  await client.query(`grant connect, temporary on database ${o.database} to ${o.role}`);
}

/** Inside the demo database: a schema the role may use but not create in, and one table. */
async function ensureTable(client: pg.Client, o: DemoDatabaseOptions): Promise<void> {
  await client.query('revoke all on schema public from public');
  await client.query(`grant usage on schema public to ${o.role}`);
  await client.query(
    `create table if not exists public.orders (
       id text primary key,
       total numeric(12, 2) not null,
       created_at timestamptz not null default now())`,
  );
  await client.query(`grant select, insert, update on public.orders to ${o.role}`);
  await client.query(
    `insert into public.orders (id, total) values ('o-1', 42.50), ('o-2', 180.00)
     on conflict (id) do nothing`,
  );
}

/**
 * Creates (or repairs) the demo role and database and returns the demo connection URL.
 * @throws AppError DEMO_DB_INVALID_NAME for names that are not plain lower-case identifiers.
 */
export async function ensureDemoDatabase(o: DemoDatabaseOptions): Promise<string> {
  if (!IDENTIFIER.test(o.role) || !IDENTIFIER.test(o.database)) {
    throw new AppError('DEMO_DB_INVALID_NAME', 'role and database must be plain identifiers', {
      kind: 'user',
    });
  }
  await withClient(o.adminUrl, async (client) => {
    await ensureRole(client, o);
    await ensureDatabase(client, o);
  });
  await withClient(urlWithDatabase(o.adminUrl, o.database), (client) => ensureTable(client, o));
  return urlWithDatabase(o.adminUrl, o.database, { user: o.role, password: o.password });
}

/** Drops what `ensureDemoDatabase` created (tests use unique names). */
export async function dropDemoDatabase(o: Omit<DemoDatabaseOptions, 'password'>): Promise<void> {
  await withClient(o.adminUrl, async (client) => {
    await client.query(`drop database if exists ${o.database} with (force)`);
    await client.query(`drop role if exists ${o.role}`);
  });
}

async function main(): Promise<void> {
  const options = {
    adminUrl: process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/linkflow',
    role: process.env['LINKFLOW_DEMO_ROLE'] ?? 'linkflow_demo',
    database: process.env['LINKFLOW_DEMO_DATABASE'] ?? 'linkflow_demo',
    // A local demo role; with trust auth (make up's local Postgres) it is not even asked for.
    password: process.env['LINKFLOW_DEMO_PASSWORD'] ?? 'linkflow_demo',
  };
  const url = await ensureDemoDatabase(options);
  process.stdout.write(`demo db: role ${options.role}, database ${options.database}\n${url}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`demo database setup failed: ${String(err)}\n`);
    process.exit(1);
  });
}
