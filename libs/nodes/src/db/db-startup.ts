import type { DbConnectionConfig } from '@linkflow/domain';
import { auditDbConnections } from './db-privileges.ts';

/** One warning: a constant `message` (for the log line) and the connection's `reason`. */
export interface DbStartupWarning {
  readonly connection: string;
  readonly message: string;
  readonly reason: string;
}

/** What a process learns about its db connections before it starts serving. */
export interface DbStartupCheck {
  /** Configuration issues (`LINKFLOW_DB_CONNECTIONS: connection "x": …`): refuse to start. */
  readonly issues: readonly string[];
  /** Degraded but allowed: unreachable now (checked again at first use), or privileged but allowed. */
  readonly warnings: readonly DbStartupWarning[];
}

/**
 * The start-up check of both processes: connects to every configured connection and refuses a
 * privileged role (superuser, CREATEROLE, member of the server-file/program roles, or granted a
 * server-file function) unless `allowPrivileged` (LINKFLOW_DB_ALLOW_PRIVILEGED=1). A connection
 * that cannot be reached only warns: the database may come up later, and the db node checks
 * the role again at its first use.
 */
export async function checkDbConnectionsAtStartup(
  connections: Readonly<Record<string, DbConnectionConfig>>,
  options: { readonly allowPrivileged: boolean; readonly connectTimeoutMs?: number },
): Promise<DbStartupCheck> {
  const audits = await auditDbConnections(connections, options.connectTimeoutMs ?? 5000);
  const issues: string[] = [];
  const warnings: DbStartupWarning[] = [];
  for (const audit of audits) {
    const why = audit.reasons.join('; ');
    if (audit.verdict === 'unreachable')
      warnings.push({
        connection: audit.name,
        message: 'db connection unreachable at start-up; its role is checked at first use',
        reason: why,
      });
    else if (audit.verdict === 'privileged' && options.allowPrivileged)
      warnings.push({
        connection: audit.name,
        message: 'db connection uses a privileged role, allowed by LINKFLOW_DB_ALLOW_PRIVILEGED',
        reason: why,
      });
    else if (audit.verdict === 'privileged')
      issues.push(
        `LINKFLOW_DB_CONNECTIONS: connection "${audit.name}" is refused: ${why}; give it a least-privileged role (see README "Security: db connections") or set LINKFLOW_DB_ALLOW_PRIVILEGED=1`,
      );
  }
  return { issues, warnings };
}
