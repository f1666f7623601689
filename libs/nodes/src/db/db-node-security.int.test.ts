import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import {
  adminUrl,
  createLeastPrivilegedDb,
  runDb,
  type LeastPrivilegedDb,
} from '../testing/least-privileged-db.ts';
import { nodeFailure } from '../testing/node-failure.ts';
import { auditDbConnections } from './index.ts';

// ARRANGE (shared): `make up`'s demo role and database under unique names, dropped afterwards;
// dblink is installed there (by the superuser) to show that the role still cannot use it.
let db: LeastPrivilegedDb;
const marker = randomBytes(4).toString('hex');

beforeAll(async () => {
  db = await createLeastPrivilegedDb();
  await db.admin.query('create extension if not exists dblink');
});

afterAll(async () => {
  await db.drop();
});

describe('db connection privileges', () => {
  it('refuses a superuser connection at first use unless privileged roles are allowed', async () => {
    const strict = db.node({ connections: { su: adminUrl() } });
    const err = await nodeFailure(runDb(strict, { connection: 'su', query: 'select 1' }));
    expect(err).toMatchObject({ type: 'SECURITY', retryable: false });
    expect(err.message).toBe(
      'connection "su" is refused: role "postgres" is a superuser (LINKFLOW_DB_ALLOW_PRIVILEGED=1 allows it)',
    );
    const allowed = db.node({ connections: { su: adminUrl() }, allowPrivileged: true });
    const ok = await runDb(allowed, { connection: 'su', query: 'select 1 as one' });
    expect(ok.output.rows).toEqual([{ one: 1 }]);
  });

  it('audits each connection: superuser, server-file and signal roles, CREATEROLE are privileged', async () => {
    const exec = `lf_t_exec_${marker}`;
    const creator = `lf_t_creator_${marker}`;
    const signal = `lf_t_signal_${marker}`;
    await db.admin.query(`create role ${exec} login in role pg_execute_server_program`);
    await db.admin.query(`create role ${creator} login createrole`);
    await db.admin.query(`create role ${signal} login in role pg_signal_backend`);
    await db.admin.query(
      `grant connect on database ${db.database} to ${exec}, ${creator}, ${signal}`,
    );
    const as = (role: string) => db.url.replace(/\/\/[^@]+@/, `//${role}@`);
    try {
      const audit = await auditDbConnections({
        su: { url: adminUrl() },
        demo: { url: db.url, tenants: ['dev'] },
        exec: { url: as(exec) },
        creator: { url: as(creator) },
        signal: { url: as(signal) },
        dead: { url: 'postgresql://postgres@127.0.0.1:1/postgres' },
      });
      expect(audit).toEqual([
        { name: 'su', verdict: 'privileged', reasons: ['role "postgres" is a superuser'] },
        { name: 'demo', verdict: 'ok', reasons: [] },
        {
          name: 'exec',
          verdict: 'privileged',
          reasons: [`role "${exec}" is a member of pg_execute_server_program`],
        },
        {
          name: 'creator',
          verdict: 'privileged',
          reasons: [`role "${creator}" has CREATEROLE`],
        },
        {
          name: 'signal',
          verdict: 'privileged',
          reasons: [`role "${signal}" is a member of pg_signal_backend`],
        },
        { name: 'dead', verdict: 'unreachable', reasons: [expect.stringMatching(/ECONNREFUSED/)] },
      ]);
    } finally {
      await db.admin.query(
        `drop owned by ${exec}, ${creator}, ${signal}; drop role ${exec}, ${creator}, ${signal}`,
      );
    }
  });
});

describe('db node escapes as a least-privileged role', () => {
  it('cannot run a server program with COPY TO PROGRAM, read_only or not', async () => {
    // `main` is the demo role; `su` is how `make up` used to configure it (the superuser).
    const node = db.node({ connections: { main: db.url, su: adminUrl() } });
    const file = `/tmp/linkflow-pwned-${marker}`;
    for (const connection of ['main', 'su'])
      for (const read_only of [false, true]) {
        const err = await nodeFailure(
          runDb(node, {
            connection,
            query: `copy (select 1) to program 'touch ${file}'`,
            read_only,
          }),
        );
        expect(err).toMatchObject({ type: 'SECURITY', retryable: false });
        expect(err.message).toMatch(connection === 'main' ? /42501/ : /is a superuser/);
      }
    expect(existsSync(file)).toBe(false);
  });

  it('cannot read server files, create an untrusted extension or terminate other backends', async () => {
    const node = db.node({ connections: { main: db.url, su: adminUrl() } });
    const adminPid = (await db.admin.query<{ pid: number }>('select pg_backend_pid() as pid'))
      .rows[0]!.pid;
    for (const query of [
      "select pg_read_file('/etc/passwd')",
      "select lo_import('/etc/passwd')",
      'create extension file_fdw',
      `select pg_terminate_backend(${adminPid})`,
    ]) {
      for (const connection of ['main', 'su']) {
        const err = await nodeFailure(runDb(node, { connection, query }));
        expect(err, query).toMatchObject({ type: 'SECURITY', retryable: false });
      }
    }
    expect((await db.admin.query('select 1 as alive')).rows).toEqual([{ alive: 1 }]);
  });

  it('cannot reach another database through dblink_exec', async () => {
    const node = db.node();
    const target = `host=127.0.0.1 port=5432 dbname=${db.database} user=postgres`;
    const err = await nodeFailure(
      runDb(node, {
        connection: 'main',
        query: 'select dblink_exec($1, $2)',
        params: [target, `create table public.pwned_${marker} (a int)`],
      }),
    );
    expect(err.message).toMatch(/password|permission denied/i);
    const made = await db.admin.query('select to_regclass($1) as t', [`public.pwned_${marker}`]);
    expect(made.rows).toEqual([{ t: null }]);
  });

  it('cannot read LinkFlow api_keys: not in its database, and not granted where they are', async () => {
    const node = db.node();
    const missing = await nodeFailure(
      runDb(node, { connection: 'main', query: 'select * from api_keys' }),
    );
    expect(missing.message).toContain('42P01');
    const linkflow = new URL(testDatabaseUrl());
    const demo = new URL(db.url);
    linkflow.username = demo.username;
    linkflow.password = demo.password;
    const pointed = db.node({ connections: { linkflow: linkflow.toString() } });
    const denied = await nodeFailure(
      runDb(pointed, { connection: 'linkflow', query: 'select key_hash from api_keys' }),
    );
    expect(denied).toMatchObject({ type: 'SECURITY' });
    expect(denied.message).toContain('42501');
  });
});

describe('read_only is enforced by the server', () => {
  it('refuses SET TRANSACTION READ WRITE, its set_config form and writes', async () => {
    const node = db.node();
    for (const query of [
      'set transaction read write',
      "select set_config('transaction_read_only', 'off', true)",
      "insert into orders (id, total) values ('ro', 1)",
      "with w as (insert into orders (id, total) values ('ro', 1) returning id) select * from w",
    ]) {
      const err = await nodeFailure(runDb(node, { connection: 'main', query, read_only: true }));
      expect(err, query).toMatchObject({ type: 'SECURITY', retryable: false });
    }
    const rows = await db.admin.query("select 1 from orders where id = 'ro'");
    expect(rows.rowCount).toBe(0);
  });

  it('refuses statements that end or nest the node transaction, and rolls back', async () => {
    const node = db.node();
    for (const query of ['commit', 'rollback', 'begin', 'savepoint s', 'start transaction']) {
      const err = await nodeFailure(runDb(node, { connection: 'main', query, read_only: true }));
      expect(err, query).toMatchObject({ type: 'SECURITY', retryable: false });
      expect(err.message).toContain('is not allowed in a db node');
    }
    const ok = await runDb(node, {
      connection: 'main',
      query: 'select count(*)::int as n from orders',
    });
    expect(ok.output.rows).toEqual([{ n: 2 }]);
  });

  it('sends one statement: a second one is a syntax error and nothing runs', async () => {
    const node = db.node();
    const err = await nodeFailure(
      runDb(node, {
        connection: 'main',
        query: "select 1; insert into orders (id, total) values ('multi', 1)",
      }),
    );
    expect(err.message).toContain('42601');
    expect((await db.admin.query("select 1 from orders where id = 'multi'")).rowCount).toBe(0);
  });

  it('keeps a read-only session read-only after the statement tries to lower its default', async () => {
    const node = db.node({ poolSize: 1 });
    await runDb(node, {
      connection: 'main',
      query: "select set_config('default_transaction_read_only', 'off', false)",
      read_only: true,
    });
    const after = await runDb(node, {
      connection: 'main',
      query: "select current_setting('default_transaction_read_only') as v",
      read_only: true,
    });
    expect(after.output.rows).toEqual([{ v: 'on' }]);
  });
});

describe('db connections per tenant at run time', () => {
  it('fails with SECURITY for a tenant not listed, by id or by name', async () => {
    const url = db.url;
    const restricted = db.node({ connections: { acme: { url, tenants: ['acme', 'id-acme'] } } });
    const query = { connection: 'acme', query: 'select 1 as one' };
    const err = await nodeFailure(runDb(restricted, query, { tenantId: 'id-other' }));
    expect(err).toMatchObject({ type: 'SECURITY', retryable: false });
    expect(err.message).toBe('connection "acme" is not allowed for this tenant');
    expect((await runDb(restricted, query, { tenantId: 'id-acme' })).output.rows).toHaveLength(1);
    const named = db.node({
      connections: { acme: { url, tenants: ['acme'] } },
      tenantRef: (id) => Promise.resolve({ id, name: id === 'id-1' ? 'acme' : 'other' }),
    });
    expect((await runDb(named, query, { tenantId: 'id-1' })).output.rows).toHaveLength(1);
    expect((await nodeFailure(runDb(named, query, { tenantId: 'id-2' }))).type).toBe('SECURITY');
  });
});
