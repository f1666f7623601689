import { Pool, TypeOverrides, types } from 'pg';
import { NodeError } from '../node-errors.ts';

/** One lazily created `pg.Pool` per configured connection name. */
export interface PoolSet {
  /** The pool for `name`, created on first use. @throws NodeError VALIDATION for an unknown name. */
  get(name: string): Pool;
  /** The URL behind `name` (used to open the side connection that cancels a query). */
  url(name: string): string;
  names(): readonly string[];
  /** Ends every pool; later `get` calls fail. */
  close(): Promise<void>;
}

export interface PoolSetOptions {
  readonly connections: Readonly<Record<string, string>>;
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

/** Creates the pool set; no connection is opened until a pool is first used. */
export function createPoolSet(options: PoolSetOptions): PoolSet {
  const pools = new Map<string, Pool>();
  let closed = false;
  const url = (name: string): string => {
    if (!Object.hasOwn(options.connections, name)) {
      throw new NodeError('VALIDATION', `unknown connection "${name}"`, { retryable: false });
    }
    return options.connections[name] ?? '';
  };
  return {
    url,
    names: () => Object.keys(options.connections),
    get(name) {
      if (closed) throw new NodeError('CONNECTIVITY', 'the db node is closed', { retryable: true });
      const existing = pools.get(name);
      if (existing !== undefined) return existing;
      const pool = new Pool({
        connectionString: url(name),
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
      pools.set(name, pool);
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
