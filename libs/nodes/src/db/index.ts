/** The `db` node: parameterized Postgres statements on named connections. */
export { createDbNode, type DbNodeOptions, type DbOutput } from './db-node.ts';
export { DbConfigSchema, type DbConfig } from './db-config.ts';
