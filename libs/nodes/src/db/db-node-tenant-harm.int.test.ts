import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runDb, useLeastPrivilegedDb } from '../testing/least-privileged-db.ts';
import { nodeFailure } from '../testing/node-failure.ts';

// ARRANGE (shared): `make up`'s demo role and database under unique names, dropped afterwards.
const db = useLeastPrivilegedDb();

/** The role's password hash and its `ALTER ROLE … SET` defaults, as the superuser sees them. */
async function roleState(): Promise<unknown> {
  const { rows } = await db.admin.query(
    `select a.rolpassword, (select s.setconfig from pg_db_role_setting s where s.setrole = a.oid)
       from pg_authid a where a.rolname = $1`,
    [db.role],
  );
  return rows;
}

describe('a timed-out statement does not keep its backend', () => {
  it('terminates a backend that swallows its cancel', async () => {
    const node = db.node();
    const marker = `swallow_${randomBytes(4).toString('hex')}`;
    const query = `do $x$ begin loop begin perform pg_sleep(0.5); exception when query_canceled then null; end; end loop; end $x$ /* ${marker} */`;
    const err = await nodeFailure(runDb(node, { connection: 'main', query, timeout_ms: 1000 }));
    expect(err).toMatchObject({ type: 'TIMEOUT' });
    const active = async () =>
      (
        await db.admin.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity
            where usename = $1 and query like $2 and pid <> pg_backend_pid()`,
          [db.role, `%${marker}%`],
        )
      ).rows[0]?.n;
    await expect.poll(active, { timeout: 10_000, interval: 200 }).toBe(0);
  }, 30_000);
});

describe('statements that change the shared role are refused', () => {
  it('refuses ALTER ROLE … PASSWORD and ALTER ROLE … SET, plainly or inside DO, and rolls back', async () => {
    const node = db.node();
    const before = await roleState();
    for (const query of [
      "alter role current_user password 'hijacked'",
      "alter user current_user password 'hijacked'",
      "alter role current_user set statement_timeout = '1ms'",
      `do $x$ begin execute 'alter role ' || quote_ident(current_user) || ' set work_mem = ''77MB'''; end $x$`,
      `do $x$ begin execute 'alter role ' || quote_ident(current_user) || ' password ''x'''; end $x$`,
    ]) {
      const err = await nodeFailure(runDb(node, { connection: 'main', query }));
      expect(err, query).toMatchObject({ type: 'SECURITY', retryable: false });
      expect(err.message, query).toContain('not allowed in a db node');
    }
    expect(await roleState()).toEqual(before);
    const ok = await runDb(node, { connection: 'main', query: 'select 1 as one' });
    expect(ok.output.rows).toEqual([{ one: 1 }]);
  });
});

describe('COPY through the client', () => {
  it('fails COPY FROM STDIN and TO STDOUT with VALIDATION, not TIMEOUT', async () => {
    const node = db.node();
    for (const query of ['copy orders from stdin', 'copy orders to stdout']) {
      const err = await nodeFailure(runDb(node, { connection: 'main', query }));
      expect(err, query).toMatchObject({ type: 'VALIDATION', retryable: false });
      expect(err.message, query).toContain('COPY FROM STDIN/TO STDOUT is not supported');
    }
  });
});
