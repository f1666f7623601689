import { Pool, TypeOverrides, types } from 'pg';
import type { DbConnectionConfig } from '@linkflow/domain';
import { NodeError } from '../node-errors.ts';

/** Which of a connection's two pools: read-write sessions, or sessions that are read-only by default. */
export type PoolMode = 'read_write' | 'read_only';

/** Lazily created `pg.Pool`s per configured connection name: one per mode. */
export interface PoolSet {
  /**
   * The pool for `name` and `mode`, created on first use. Sessions of a `read_only` pool start
   * with `default_transaction_read_only=on` as a startup option, which no `SET` or `RESET` in
   * the session can lower below (RESET returns to it).
   * @throws NodeError VALIDATION for an unknown name, CONNECTIVITY once closed.
   */
  get(name: string, mode?: PoolMode): Pool;
  /** What the operator configured for `name`. @throws NodeError VALIDATION for an unknown name. */
  connection(name: string): DbConnectionConfig;
  /** The URL behind `name` (used to open the side connection that cancels a query). */
  url(name: string): string;
  names(): readonly string[];
  /** Ends every pool; later `get` calls fail. */
  close(): Promise<void>;
}

export interface PoolSetOptions {
  readonly connections: Readonly<Record<string, DbConnectionConfig>>;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
}

/** Identifies node connections in `pg_stat_activity`. */
export const APPLICATION_NAME = 'linkflow-db-node';

/** Postgres `timestamp` text (`2024-01-02 03:04:05.6`) as ISO-8601 local time. */
function isoLocal(text: string): string {
  return text.replace(' ', 'T');
}

/**
 * `date` and `timestamp` (no time zone) stay text: node-postgres would turn them into a Date in
 * the executor's local zone, shifting the value when serialised. `timestamptz` keeps its Date
 * parser (an instant) and becomes ISO-8601 UTC in the node output.
 */
function jsonFriendlyTypes(): TypeOverrides {
  const overrides = new TypeOverrides();
  // 1009 is text[]; pg-types' TypeId enum lists scalar types only.
  const textArrayOid = 1009 as Parameters<typeof types.getTypeParser>[0];
  const textArray = types.getTypeParser(textArrayOid) as (text: string) => (string | null)[];
  overrides.setTypeParser(1082, (text: string) => text);
  overrides.setTypeParser(1114, isoLocal);
  overrides.setTypeParser(1182, (text: string) => textArray(text));
  overrides.setTypeParser(1115, (text: string) =>
    textArray(text).map((v) => (v === null ? null : isoLocal(v))),
  );
  return overrides;
}

const JSON_FRIENDLY_TYPES = jsonFriendlyTypes();

/**
 * `url` with `-c default_transaction_read_only=on` added to its `options` parameter. It goes in
 * the URL because node-postgres lets a connection string's `options` override the config's.
 */
export function readOnlyUrl(url: string): string {
  const parsed = new URL(url);
  const existing = parsed.searchParams.get('options');
  const flag = '-c default_transaction_read_only=on';
  parsed.searchParams.set('options', existing ? `${existing} ${flag}` : flag);
  return parsed.toString();
}

/** Creates the pool set; no connection is opened until a pool is first used. */
export function createPoolSet(options: PoolSetOptions): PoolSet {
  const pools = new Map<string, Pool>();
  let closed = false;
  const connection = (name: string): DbConnectionConfig => {
    const found = Object.hasOwn(options.connections, name) ? options.connections[name] : undefined;
    if (found === undefined) {
      throw new NodeError('VALIDATION', `unknown connection "${name}"`, { retryable: false });
    }
    return found;
  };
  const url = (name: string): string => connection(name).url;
  return {
    connection,
    url,
    names: () => Object.keys(options.connections),
    get(name, mode = 'read_write') {
      if (closed) throw new NodeError('CONNECTIVITY', 'the db node is closed', { retryable: true });
      const key = `${mode}:${name}`;
      const existing = pools.get(key);
      if (existing !== undefined) return existing;
      const pool = new Pool({
        connectionString: mode === 'read_only' ? readOnlyUrl(url(name)) : url(name),
        max: options.poolSize,
        connectionTimeoutMillis: options.connectTimeoutMs,
        idleTimeoutMillis: 30_000,
        keepAlive: true,
        application_name: APPLICATION_NAME,
        types: JSON_FRIENDLY_TYPES,
      });
      // An idle client whose server went away errors here; the pool already drops it and
      // the next query reconnects, so there is nothing else to do (unhandled, it would crash).
      pool.on('error', () => undefined);
      pools.set(key, pool);
      return pool;
    },
    async close() {
      closed = true;
      const ending = [...pools.values()].map((pool) => pool.end());
      pools.clear();
      await Promise.allSettled(ending);
    },
  };
}
