import type { QueryResultRow } from 'pg';
import { mayUseConnection, type DbConnectionConfig, type TenantRef } from '@linkflow/domain';
import type { NodeContext, NodeDefinition, NodeHealth, NodeResult } from '../node-definition.ts';
import { NodeError, abortError } from '../node-errors.ts';
import {
  checkDbAccess,
  checkDbConfig,
  DbConfigSchema,
  type DbConfig,
  type DbConnections,
} from './db-config.ts';
import { deadlineError, tenantNotAllowedError } from './db-errors.ts';
import { createPoolSet, type PoolSet } from './db-pools.ts';
import { createPrivilegeGate } from './db-privileges.ts';
import { runQuery, type SessionCheck } from './db-query.ts';

/** Server-side settings of the db node (from the executor's config). */
export interface DbNodeOptions {
  /**
   * LINKFLOW_DB_CONNECTIONS: connection name → Postgres URL (every tenant) or `{url, tenants}`.
   * Workflows only ever name them.
   */
  readonly connections: Readonly<Record<string, string | DbConnectionConfig>>;
  /** Ceiling for `max_rows`; also its default. */
  readonly maxRows: number;
  /** Ceiling for `max_bytes` (bytes of result read from the server); also its default. */
  readonly maxBytes?: number;
  /** LINKFLOW_DB_ALLOW_PRIVILEGED: use connections whose role is privileged (default false). */
  readonly allowPrivileged?: boolean;
  /**
   * The tenant's name for its id, to match a connection's `tenants` list by name; without it,
   * or when it fails, only ids match.
   */
  readonly tenantRef?: (tenantId: string) => Promise<TenantRef>;
  /** `timeout_ms` when the config has none; also the pools' connect timeout. */
  readonly defaultTimeoutMs: number;
  /** Clients per connection pool (default 5). */
  readonly poolSize?: number;
}

/** What the db node returns. Dates are ISO-8601 strings, bytea is `\x…` hex, int8/numeric are strings. */
export interface DbOutput {
  readonly rows: Record<string, unknown>[];
  /** Rows returned, or rows affected by INSERT/UPDATE/DELETE without RETURNING. */
  readonly row_count: number;
}

/**
 * Grace on top of the statement timeout before the node gives up on its own: the server's
 * `statement_timeout` should fire first and report a clean TIMEOUT; this covers a hung
 * connect or a server that does not answer at all.
 */
const CLIENT_GRACE_MS = 1000;

/** `select 1` budget per connection in `health()`. */
const HEALTH_TIMEOUT_MS = 2000;

/** `maxBytes` when the server sets none: the executor's default node output cap. */
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/** Bare URLs become `{url}` (every tenant may use them). */
function normalise(connections: DbNodeOptions['connections']): DbConnections {
  return Object.fromEntries(
    Object.entries(connections).map(([name, c]) => [name, typeof c === 'string' ? { url: c } : c]),
  );
}

interface DbDeps {
  readonly pools: PoolSet;
  readonly options: DbNodeOptions;
  readonly connections: DbConnections;
  readonly check: SessionCheck;
}

/**
 * The `db` node, version 1: one parameterized Postgres statement on a named connection.
 * SQL text is never rendered (`rawFields: ['query']`) and `{{` in it is a config problem;
 * values travel only as `$n` params. Each run is its own transaction with a
 * `statement_timeout`; abort cancels the statement on the server.
 * Failures: CONNECTIVITY, TIMEOUT, SECURITY (write under `read_only`), EXECUTION (SQL errors
 * with SQLSTATE, more than `max_rows` rows or `max_bytes` bytes), CANCELLATION, and SECURITY
 * for a connection the tenant may not use or whose role is privileged (checked at first use).
 */
export function createDbNode(options: DbNodeOptions): NodeDefinition<DbConfig, DbOutput> {
  const connections = normalise(options.connections);
  const pools = createPoolSet({
    connections,
    poolSize: options.poolSize ?? 5,
    connectTimeoutMs: options.defaultTimeoutMs,
  });
  const deps: DbDeps = {
    pools,
    options,
    connections,
    check: createPrivilegeGate(options.allowPrivileged ?? false),
  };
  return {
    type: 'db',
    version: 1,
    configSchema: DbConfigSchema,
    rawFields: ['query'],
    secretFields: ['params'],
    checkConfig: (config) => checkDbConfig(config, connections),
    checkAccess: (config, tenant) => checkDbAccess(config, connections, tenant),
    breakerKey: (config) => config.connection,
    execute: (ctx, config) => executeDb(ctx, config, deps),
    health: () => checkHealth(deps),
    close: () => pools.close(),
  };
}

/**
 * Refuses a connection the tenant may not use, at run time too: the API checked at create and
 * start, but the operator may have changed LINKFLOW_DB_CONNECTIONS since.
 */
async function assertTenantMayUse(ctx: NodeContext, name: string, deps: DbDeps): Promise<void> {
  const connection = deps.pools.connection(name);
  if (mayUseConnection(connection, { id: ctx.tenantId })) return;
  const tenant = await deps.options.tenantRef?.(ctx.tenantId).catch(() => undefined);
  if (tenant === undefined || !mayUseConnection(connection, tenant))
    throw tenantNotAllowedError(name);
}

async function executeDb(
  ctx: NodeContext,
  config: DbConfig,
  deps: DbDeps,
): Promise<NodeResult<DbOutput>> {
  if (ctx.signal.aborted) throw abortError(ctx.signal);
  if (config.query.includes('{{')) {
    throw new NodeError('VALIDATION', 'templates are not allowed in SQL; use $1..$n params', {
      retryable: false,
    });
  }
  await assertTenantMayUse(ctx, config.connection, deps);
  const timeoutMs = config.timeout_ms ?? deps.options.defaultTimeoutMs;
  const maxRows = Math.min(config.max_rows ?? deps.options.maxRows, deps.options.maxRows);
  const serverMaxBytes = deps.options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxBytes = Math.min(config.max_bytes ?? serverMaxBytes, serverMaxBytes);
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(deadlineError(timeoutMs, config.connection)),
    timeoutMs + CLIENT_GRACE_MS,
  );
  try {
    const outcome = await runQuery(
      deps.pools,
      {
        connection: config.connection,
        sql: config.query,
        params: config.params ?? [],
        maxRows,
        maxBytes,
        readOnly: config.read_only ?? false,
        timeoutMs,
      },
      AbortSignal.any([ctx.signal, deadline.signal]),
      deps.check,
    );
    const rows = outcome.rows.map(toJsonRow);
    return {
      output: { rows, row_count: outcome.rowCount },
      usage: { rows: rows.length, query_ms: outcome.queryMs },
    };
  } finally {
    clearTimeout(timer);
  }
}

async function checkHealth({ pools, check }: DbDeps): Promise<NodeHealth> {
  const names = pools.names();
  if (names.length === 0) return { ok: true, detail: 'no connections configured' };
  const failures = await Promise.all(
    names.map(async (name) => {
      try {
        const request = {
          connection: name,
          sql: 'select 1',
          params: [],
          maxRows: 1,
          maxBytes: 1024,
          readOnly: true,
          timeoutMs: HEALTH_TIMEOUT_MS,
        };
        const signal = AbortSignal.timeout(HEALTH_TIMEOUT_MS + CLIENT_GRACE_MS);
        await runQuery(pools, request, signal, check);
        return undefined;
      } catch (err) {
        return `${name}: ${err instanceof Error ? err.message : String(err)}`;
      }
    }),
  );
  const failed = failures.filter((f): f is string => f !== undefined);
  return failed.length === 0 ? { ok: true } : { ok: false, detail: failed.join('; ') };
}

/** Makes a row JSON-safe: node outputs are checkpointed as JSON and read by expressions. */
function toJsonRow(row: QueryResultRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) out[key] = toJsonValue(value);
  return out;
}

function toJsonValue(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (Array.isArray(value)) return value.map(toJsonValue);
  return value;
}
