/** The `db` node: parameterized Postgres statements on named connections. */
export { createDbNode, type DbNodeOptions, type DbOutput } from './db-node.ts';
export { DbConfigSchema, MAX_DB_TIMEOUT_MS, type DbConfig } from './db-config.ts';
export { auditDbConnections, SERVER_ROLES, type ConnectionAudit } from './db-privileges.ts';
export { checkDbConnectionsAtStartup, type DbStartupCheck } from './db-startup.ts';
