import { Type, type Static } from '@sinclair/typebox';
import {
  mayUseConnection,
  type DbConnectionConfig,
  type FieldProblem,
  type TenantRef,
} from '@linkflow/domain';

/** The largest `timeout_ms` a db node may ask for (5 minutes). */
export const MAX_DB_TIMEOUT_MS = 300_000;

/**
 * Config of the `db` node, version 1 (wire names are snake_case).
 * - `connection`: a name from LINKFLOW_DB_CONNECTIONS, never a DSN; the operator decides which
 *   tenants may use it.
 * - `query`: one SQL statement with `$1..$n` placeholders; never template-rendered.
 * - `params`: bound values (templates allowed); objects are sent as JSON, arrays as
 *   Postgres arrays (node-postgres conventions).
 * - `max_rows`: at most this many rows may come back, else the node fails and the
 *   statement is rolled back; can only lower the server's limit.
 * - `max_bytes`: at most this many bytes of result may be read from the server, else the node
 *   fails and the statement is rolled back; can only lower the server's limit (the node
 *   output cap).
 * - `read_only`: run in a `READ ONLY` transaction on a read-only session; a write fails with
 *   SECURITY.
 * - `timeout_ms`: the statement timeout (Postgres `statement_timeout`), at most 5 minutes.
 */
export const DbConfigSchema = Type.Object(
  {
    connection: Type.String({ minLength: 1 }),
    query: Type.String({ minLength: 1 }),
    params: Type.Optional(Type.Array(Type.Unknown(), { default: [] })),
    max_rows: Type.Optional(Type.Integer({ minimum: 1 })),
    max_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
    read_only: Type.Optional(Type.Boolean({ default: false })),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_DB_TIMEOUT_MS })),
  },
  { additionalProperties: false },
);

/** A validated db node config (params rendered at run time). */
export type DbConfig = Static<typeof DbConfigSchema>;

/** Connection name → what the operator configured (a bare URL is `{url}`). */
export type DbConnections = Readonly<Record<string, DbConnectionConfig>>;

/**
 * Rules JSON Schema cannot express: no `{{` in SQL (values go through `$n` params, so
 * nothing is ever interpolated into SQL text) and the connection name must be configured.
 * The hint lists only connections open to every tenant, so names reserved for some tenants
 * are not shown to the others.
 */
export function checkDbConfig(
  config: DbConfig,
  connections: DbConnections,
): readonly FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (config.query.includes('{{')) {
    problems.push({
      path: '/config/query',
      message: 'templates are not allowed in SQL; use $1..$n params',
    });
  }
  if (!Object.hasOwn(connections, config.connection)) {
    const open = Object.keys(connections).filter((n) => connections[n]?.tenants === undefined);
    const known = open.sort().join(', ') || 'none';
    problems.push({
      path: '/config/connection',
      message: `unknown connection "${config.connection}" (open to every tenant: ${known})`,
    });
  }
  return problems;
}

/**
 * Whether `tenant` may use the config's connection (the operator's `tenants` list). Unknown
 * connections and invalid configs are `checkDbConfig`'s to report, not this.
 */
export function checkDbAccess(
  config: Readonly<Record<string, unknown>>,
  connections: DbConnections,
  tenant: TenantRef,
): readonly FieldProblem[] {
  const name = config['connection'];
  if (typeof name !== 'string' || !Object.hasOwn(connections, name)) return [];
  const connection = connections[name];
  if (connection === undefined || mayUseConnection(connection, tenant)) return [];
  return [
    {
      path: '/config/connection',
      message: `connection "${name}" is not allowed for this tenant (the operator restricts it to other tenants)`,
    },
  ];
}
