import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { dropDemoDatabase, ensureDemoDatabase } from '../../../../scripts/demo-db.ts';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import type { NodeDefinition } from '../node-definition.ts';
import { createDbNode, type DbConfig, type DbNodeOptions, type DbOutput } from '../db/index.ts';
import { EMPTY_NODE_INPUT, fakeNodeContext } from './node-context.ts';

/**
 * The superuser URL of the test server's `postgres` database (db tests create and drop their own
 * objects there). Call it inside a test or hook: it reads the run's test database URL.
 */
export function adminUrl(): string {
  const url = new URL(testDatabaseUrl());
  url.pathname = '/postgres';
  url.search = '';
  return url.toString();
}

/**
 * A least-privileged role and its own database, made by `make up`'s own demo setup under
 * unique names (dropped by `drop()`), plus a superuser client on that database.
 */
export interface LeastPrivilegedDb {
  readonly role: string;
  readonly database: string;
  /** The role's URL on its database. */
  readonly url: string;
  /** Superuser, connected to the role's database. */
  readonly admin: pg.Client;
  /** A db node over `{main: url}` plus `extra` connections; closed by `drop()`. */
  node(options?: Partial<DbNodeOptions>): NodeDefinition<DbConfig, DbOutput>;
  drop(): Promise<void>;
}

export async function createLeastPrivilegedDb(): Promise<LeastPrivilegedDb> {
  const suffix = randomBytes(5).toString('hex');
  const names = {
    adminUrl: adminUrl(),
    role: `lf_t_role_${suffix}`,
    database: `lf_t_db_${suffix}`,
  };
  const url = await ensureDemoDatabase({ ...names, password: `pw_${suffix}` });
  const onDatabase = new URL(names.adminUrl);
  onDatabase.pathname = `/${names.database}`;
  const admin = new pg.Client({ connectionString: onDatabase.toString() });
  await admin.connect();
  const nodes: NodeDefinition<DbConfig, DbOutput>[] = [];
  return {
    ...names,
    url,
    admin,
    node(options = {}) {
      const node = createDbNode({
        connections: { main: url },
        maxRows: 1000,
        defaultTimeoutMs: 5000,
        ...options,
      });
      nodes.push(node);
      return node;
    },
    async drop() {
      await Promise.all(nodes.map((n) => (n.close ? n.close() : Promise.resolve())));
      await admin.end();
      await dropDemoDatabase(names);
    },
  };
}

/**
 * A {@link LeastPrivilegedDb} for a whole test file: created in `beforeAll`, dropped in
 * `afterAll`. Its members may be read from the file's hooks and tests only.
 */
export function useLeastPrivilegedDb(): LeastPrivilegedDb {
  let created: LeastPrivilegedDb | undefined;
  const db = (): LeastPrivilegedDb => {
    if (created === undefined) throw new TypeError('the demo database is used before beforeAll');
    return created;
  };
  beforeAll(async () => {
    created = await createLeastPrivilegedDb();
  });
  afterAll(async () => {
    await created?.drop();
  });
  return {
    get role() {
      return db().role;
    },
    get database() {
      return db().database;
    },
    get url() {
      return db().url;
    },
    get admin() {
      return db().admin;
    },
    node: (options) => db().node(options),
    drop: () => db().drop(),
  };
}

/** Runs `config` on `node` as `tenantId` (default `tenant-1`). */
export function runDb(
  node: NodeDefinition<DbConfig, DbOutput>,
  config: DbConfig,
  options: { tenantId?: string; signal?: AbortSignal } = {},
) {
  return node.execute(fakeNodeContext({ nodeId: 'q', ...options }), config, EMPTY_NODE_INPUT);
}
