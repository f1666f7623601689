import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import pg from 'pg';
import type { NodeContext, NodeDefinition } from '../node-definition.ts';
import { nodeFailure } from '../testing/node-failure.ts';
import { createDbNode, DbConfigSchema, type DbConfig, type DbOutput } from './index.ts';
import { EMPTY_NODE_INPUT, fakeNodeContext } from '../testing/node-context.ts';

// ARRANGE (shared): a throwaway schema + table on the local Postgres, dropped afterwards.
const PG_URL =
  process.env.TEST_DATABASE_BASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const DEAD_URL = 'postgresql://postgres@127.0.0.1:1/postgres';
const schema = `t_db_node_${randomBytes(5).toString('hex')}`;
const table = `${schema}.items_${randomBytes(3).toString('hex')}`;

let admin: pg.Client;
const nodes: NodeDefinition<DbConfig, DbOutput>[] = [];

function makeNode(
  overrides: { poolSize?: number; maxRows?: number } = {},
): NodeDefinition<DbConfig, DbOutput> {
  const node = createDbNode({
    connections: { main: PG_URL, dead: DEAD_URL },
    maxRows: overrides.maxRows ?? 1000,
    defaultTimeoutMs: 5000,
    // These tests use the superuser; db-node-security.int.test.ts uses a least-privileged role.
    allowPrivileged: true,
    ...(overrides.poolSize === undefined ? {} : { poolSize: overrides.poolSize }),
  });
  nodes.push(node);
  return node;
}

const db = makeNode();

function makeCtx(signal?: AbortSignal): NodeContext {
  return fakeNodeContext({ nodeId: 'save', timeoutMs: 30_000, ...(signal ? { signal } : {}) });
}

const input = EMPTY_NODE_INPUT;

function run(config: DbConfig, signal?: AbortSignal, node = db) {
  return node.execute(makeCtx(signal), config, input);
}

async function count(): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from ${table}`);
  return rows[0]!.n;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.query(
    `create table ${table} (id int primary key, name text not null, day date, at timestamptz, data bytea)`,
  );
  await admin.query(
    `insert into ${table} (id, name, day, at, data)
     select i, 'item ' || i, date '2024-02-29', timestamptz '2024-02-29 12:00:00+00', '\\x0102'::bytea
     from generate_series(1, 5) as i`,
  );
});

afterAll(async () => {
  await Promise.all(nodes.map((n) => (n.close ? n.close() : Promise.resolve())));
  await admin.query(`drop schema if exists ${schema} cascade`);
  await admin.end();
});

describe('db node statements', () => {
  it('selects with params and returns JSON-safe rows', async () => {
    const { output, usage } = await run({
      connection: 'main',
      query: `select * from ${table} where id = $1`,
      params: [2],
    });
    expect(output.row_count).toBe(1);
    expect(output.rows).toEqual([
      { id: 2, name: 'item 2', day: '2024-02-29', at: '2024-02-29T12:00:00.000Z', data: '\\x0102' },
    ]);
    expect(usage.rows).toBe(1);
    expect(usage.query_ms).toBeGreaterThanOrEqual(0);
  });

  it('inserts and reports the affected rows', async () => {
    const { output } = await run({
      connection: 'main',
      query: `insert into ${table} (id, name) values ($1, $2)`,
      params: [100, 'new'],
    });
    expect(output).toEqual({ rows: [], row_count: 1 });
    const returning = await run({
      connection: 'main',
      query: `update ${table} set name = $1 where id = $2 returning id, name`,
      params: ['renamed', 100],
    });
    expect(returning.output).toEqual({ rows: [{ id: 100, name: 'renamed' }], row_count: 1 });
    await run({ connection: 'main', query: `delete from ${table} where id = $1`, params: [100] });
  });
});

describe('db node row limits', () => {
  it('fails with EXECUTION when more than max_rows come back, and rolls a write back', async () => {
    const exact = await run({
      connection: 'main',
      query: `select id from ${table} where id <= 5 order by id`,
      max_rows: 5,
    });
    expect(exact.output.row_count).toBe(5);
    const err = await nodeFailure(
      run({ connection: 'main', query: `select id from ${table}`, max_rows: 3 }),
    );
    expect(err).toMatchObject({ type: 'EXECUTION', retryable: false });
    expect(err.message).toContain('max_rows (3)');
    const before = await count();
    const write = await nodeFailure(
      run({
        connection: 'main',
        query: `insert into ${table} (id, name) select i, 'bulk' from generate_series(200, 209) as i returning id`,
        max_rows: 2,
      }),
    );
    expect(write.type).toBe('EXECUTION');
    expect(await count()).toBe(before);
  });

  it('caps max_rows at the server limit', async () => {
    const small = makeNode({ maxRows: 2 });
    const err = await nodeFailure(
      run(
        { connection: 'main', query: `select id from ${table}`, max_rows: 100 },
        undefined,
        small,
      ),
    );
    expect(err.message).toContain('max_rows (2)');
  });
});

describe('db node failures', () => {
  it('rejects a write under read_only with SECURITY and changes nothing', async () => {
    const before = await count();
    const err = await nodeFailure(
      run({
        connection: 'main',
        query: `insert into ${table} (id, name) values (300, 'x')`,
        read_only: true,
      }),
    );
    expect(err).toMatchObject({ type: 'SECURITY', retryable: false });
    expect(err.message).toContain('25006');
    expect(await count()).toBe(before);
    const read = await run({
      connection: 'main',
      query: `select count(*)::int as n from ${table}`,
      read_only: true,
    });
    expect(read.output.rows).toEqual([{ n: before }]);
  });

  it('fails SQL errors as EXECUTION with the SQLSTATE, and the client stays usable', async () => {
    const single = makeNode({ poolSize: 1 });
    const syntax = await nodeFailure(
      run({ connection: 'main', query: 'selec 1' }, undefined, single),
    );
    expect(syntax).toMatchObject({ type: 'EXECUTION', retryable: false });
    expect(syntax.message).toContain('SQLSTATE 42601');
    const dup = await nodeFailure(
      run(
        {
          connection: 'main',
          query: `insert into ${table} (id, name) values ($1, 'd')`,
          params: [1],
        },
        undefined,
        single,
      ),
    );
    expect(dup.message).toMatch(/duplicate key.*SQLSTATE 23505/);
    const ok = await run(
      { connection: 'main', query: 'select $1::int as v', params: [7] },
      undefined,
      single,
    );
    expect(ok.output.rows).toEqual([{ v: 7 }]);
  });
});

describe('db node time limits', () => {
  it('fails with retryable TIMEOUT when the statement timeout passes', async () => {
    const started = Date.now();
    const err = await nodeFailure(
      run({ connection: 'main', query: 'select pg_sleep(5)', timeout_ms: 200 }),
    );
    expect(err).toMatchObject({ type: 'TIMEOUT', retryable: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('cancels the statement on the server when the signal aborts', async () => {
    const marker = `abort_${randomBytes(4).toString('hex')}`;
    const active = async (): Promise<number> => {
      const { rows } = await admin.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where state = 'active' and query like $1 and pid <> pg_backend_pid()`,
        [`%${marker}%`],
      );
      return rows[0]!.n;
    };
    const controller = new AbortController();
    const pending = run(
      { connection: 'main', query: `select pg_sleep(10) /* ${marker} */` },
      controller.signal,
    );
    await expect.poll(active, { timeout: 3000, interval: 20 }).toBe(1);
    const started = Date.now();
    controller.abort();
    const err = await nodeFailure(pending);
    expect(err).toMatchObject({ type: 'CANCELLATION', retryable: false });
    expect(Date.now() - started).toBeLessThan(100);
    await expect.poll(active, { timeout: 300, interval: 20 }).toBe(0);
  });
});

describe('db node connections', () => {
  it('fails an unreachable connection as retryable CONNECTIVITY', async () => {
    const err = await nodeFailure(run({ connection: 'dead', query: 'select 1' }));
    expect(err).toMatchObject({ type: 'CONNECTIVITY', retryable: true });
  });

  it('reports health per connection', async () => {
    const good = createDbNode({
      connections: { main: PG_URL },
      maxRows: 10,
      defaultTimeoutMs: 1000,
      allowPrivileged: true,
    });
    nodes.push(good);
    expect(await good.health?.()).toEqual({ ok: true });
    const bad = await db.health?.();
    expect(bad?.ok).toBe(false);
    expect(bad?.detail).toMatch(/^dead: /);
  });
});

describe('db node config', () => {
  it('reports templates in SQL and unknown connections', () => {
    expect(
      db.checkConfig?.({ connection: 'main', query: 'select * from t where id = {{ input.id }}' }),
    ).toEqual([
      { path: '/config/query', message: 'templates are not allowed in SQL; use $1..$n params' },
    ]);
    const problems = db.checkConfig?.({ connection: 'nope', query: 'select 1' }) ?? [];
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('/config/connection');
  });

  it('describes itself and keys the breaker by connection', () => {
    expect(db).toMatchObject({ type: 'db', version: 1, rawFields: ['query'] });
    expect(db.breakerKey?.({ connection: 'main', query: 'select 1' })).toBe('main');
    expect(
      Value.Check(DbConfigSchema, {
        connection: 'main',
        query: 'select 1',
        params: [1, 'a', null],
      }),
    ).toBe(true);
    expect(Value.Check(DbConfigSchema, { connection: 'main', query: 'select 1', dsn: 'x' })).toBe(
      false,
    );
  });
});
