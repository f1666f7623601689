import { Client, type ClientBase } from 'pg';
import type { DbConnectionConfig } from '@linkflow/domain';
import { privilegedConnectionError } from './db-errors.ts';

/**
 * Predefined roles whose members run programs or read/write files on the database server, or
 * (`pg_signal_backend`) cancel and terminate any non-superuser backend: other roles' sessions,
 * LinkFlow's own if it shares the server.
 */
export const SERVER_ROLES = [
  'pg_execute_server_program',
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_signal_backend',
] as const;

/** Server-file functions that Postgres grants to no one but superusers unless an operator did. */
const FILE_FUNCTIONS = [
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'lo_import',
  'lo_export',
] as const;

interface RoleRow {
  role: string;
  superuser: boolean;
  createrole: boolean;
  server_roles: string[];
  file_functions: string[];
}

// `current_user` right after connecting is the connection's role. Everything is a literal or
// a bound array: no text from outside reaches the SQL.
const ROLE_QUERY = `
  select r.rolname as role, r.rolsuper as superuser, r.rolcreaterole as createrole,
    array(select g from unnest($1::text[]) g where pg_has_role(current_user, g, 'MEMBER') order by 1)
      as server_roles,
    array(select distinct p.proname::text from pg_proc p
          where p.pronamespace = 'pg_catalog'::regnamespace and p.proname = any($2::text[])
            and has_function_privilege(p.oid, 'EXECUTE') order by 1) as file_functions
  from pg_roles r where r.rolname = current_user`;

/**
 * Why a role must not back a tenant-facing connection, or an empty list. A superuser can do
 * anything; CREATEROLE can grant itself the predefined server roles (Postgres 15 and earlier);
 * the server roles and an explicit grant on a file function reach the server's files/programs.
 */
function reasonsOf(row: RoleRow): string[] {
  const reasons: string[] = [];
  if (row.superuser) return [`role "${row.role}" is a superuser`];
  if (row.createrole) reasons.push(`role "${row.role}" has CREATEROLE`);
  if (row.server_roles.length > 0)
    reasons.push(`role "${row.role}" is a member of ${row.server_roles.join(', ')}`);
  if (row.file_functions.length > 0)
    reasons.push(`role "${row.role}" may execute ${row.file_functions.join(', ')}`);
  return reasons;
}

/** Why the role of `client`'s session is privileged (empty when it is not). */
export async function roleReasons(client: ClientBase): Promise<string[]> {
  const { rows } = await client.query<RoleRow>(ROLE_QUERY, [SERVER_ROLES, FILE_FUNCTIONS]);
  const row = rows[0];
  return row ? reasonsOf(row) : ["the connection's role is not in pg_roles"];
}

/**
 * Connects with `url` and returns why its role is privileged (empty when it is not).
 * @throws whatever node-postgres throws when the server cannot be reached or refuses the login.
 */
export async function privilegeReasons(url: string, connectTimeoutMs: number): Promise<string[]> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
    application_name: 'linkflow-db-check',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await roleReasons(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The db node's own check at first use of each connection (start-up may have found it
 * unreachable, or the process may not have run the start-up audit): once a connection's role is
 * known, a privileged one fails every run with SECURITY unless `allowPrivileged`. A failed check
 * (connection lost) is not remembered, so the next run checks again.
 */
export function createPrivilegeGate(
  allowPrivileged: boolean,
): (connection: string, client: ClientBase) => Promise<void> {
  const verdicts = new Map<string, Promise<string[]>>();
  return async (connection, client) => {
    if (allowPrivileged) return;
    let verdict = verdicts.get(connection);
    if (verdict === undefined) {
      verdict = roleReasons(client);
      verdicts.set(connection, verdict);
      verdict.catch(() => verdicts.delete(connection));
    }
    const reasons = await verdict;
    if (reasons.length > 0) throw privilegedConnectionError(connection, reasons);
  };
}

/** What the start-up audit found for one connection. */
export interface ConnectionAudit {
  readonly name: string;
  /** `ok`; `privileged` (refused unless allowed); `unreachable` (checked again at first use). */
  readonly verdict: 'ok' | 'privileged' | 'unreachable';
  readonly reasons: readonly string[];
}

/**
 * Checks every configured connection's role at start-up, in parallel. The caller refuses to
 * start on a `privileged` verdict unless LINKFLOW_DB_ALLOW_PRIVILEGED is set, and only warns
 * on `unreachable` (the database may come up later; the db node checks again at first use).
 */
export async function auditDbConnections(
  connections: Readonly<Record<string, DbConnectionConfig>>,
  connectTimeoutMs = 5000,
): Promise<ConnectionAudit[]> {
  return Promise.all(
    Object.entries(connections).map(async ([name, connection]): Promise<ConnectionAudit> => {
      try {
        const reasons = await privilegeReasons(connection.url, connectTimeoutMs);
        return { name, verdict: reasons.length > 0 ? 'privileged' : 'ok', reasons };
      } catch (err) {
        return { name, verdict: 'unreachable', reasons: [describe(err)] };
      }
    }),
  );
}

function describe(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message === '' && err instanceof AggregateError
    ? err.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ')
    : message;
}
