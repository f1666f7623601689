import { Type, type Static } from '@sinclair/typebox';
import type { FieldProblem } from '@linkflow/domain';

/**
 * Config of the `db` node, version 1 (wire names are snake_case).
 * - `connection`: a name from LINKFLOW_DB_CONNECTIONS, never a DSN.
 * - `query`: one SQL statement with `$1..$n` placeholders; never template-rendered.
 * - `params`: bound values (templates allowed); objects are sent as JSON, arrays as
 *   Postgres arrays (node-postgres conventions).
 * - `max_rows`: at most this many rows may come back, else the node fails and the
 *   statement is rolled back; can only lower the server's limit.
 * - `read_only`: run in a `READ ONLY` transaction; a write fails with SECURITY.
 * - `timeout_ms`: the statement timeout (Postgres `statement_timeout`).
 */
export const DbConfigSchema = Type.Object(
  {
    connection: Type.String({ minLength: 1 }),
    query: Type.String({ minLength: 1 }),
    params: Type.Optional(Type.Array(Type.Unknown(), { default: [] })),
    max_rows: Type.Optional(Type.Integer({ minimum: 1 })),
    read_only: Type.Optional(Type.Boolean({ default: false })),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

/** A validated db node config (params rendered at run time). */
export type DbConfig = Static<typeof DbConfigSchema>;

/**
 * Rules JSON Schema cannot express: no `{{` in SQL (values go through `$n` params, so
 * nothing is ever interpolated into SQL text) and the connection name must be configured.
 */
export function checkDbConfig(
  config: DbConfig,
  connections: Readonly<Record<string, string>>,
): readonly FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (config.query.includes('{{')) {
    problems.push({
      path: '/config/query',
      message: 'templates are not allowed in SQL; use $1..$n params',
    });
  }
  if (!Object.hasOwn(connections, config.connection)) {
    const known = Object.keys(connections).sort().join(', ') || 'none configured';
    problems.push({
      path: '/config/connection',
      message: `unknown connection "${config.connection}" (known: ${known})`,
    });
  }
  return problems;
}
