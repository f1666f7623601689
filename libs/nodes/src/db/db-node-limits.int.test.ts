import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runDb, useLeastPrivilegedDb } from '../testing/least-privileged-db.ts';
import { nodeFailure } from '../testing/node-failure.ts';

// ARRANGE (shared): `make up`'s demo role and database under unique names, dropped afterwards.
const db = useLeastPrivilegedDb();

describe('pooled sessions are reset before the next run', () => {
  it('does not leak settings, advisory locks or temp tables to the next run on the session', async () => {
    // One client per pool: run B is served by the very session run A used.
    const node = db.node({ poolSize: 1 });
    const a = await runDb(node, {
      connection: 'main',
      query: `select pg_backend_pid() as pid, set_config('search_path', 'pg_catalog', false),
                     set_config('work_mem', '77MB', false), pg_advisory_lock(4242)`,
    });
    await runDb(node, { connection: 'main', query: 'create temp table leak (a int)' });
    await runDb(node, { connection: 'main', query: 'set role none' });
    const b = await runDb(node, {
      connection: 'main',
      query: `select pg_backend_pid() as pid, current_setting('search_path') as search_path,
                     current_setting('work_mem') as work_mem, current_user = session_user as own_role,
                     to_regclass('pg_temp.leak') is null as no_temp,
                     (select count(*)::int from pg_locks
                       where locktype = 'advisory' and pid = pg_backend_pid()) as advisory_locks`,
    });
    expect(b.output.rows).toEqual([
      {
        pid: a.output.rows[0]?.['pid'],
        search_path: '"$user", public',
        work_mem: '4MB',
        own_role: true,
        no_temp: true,
        advisory_locks: 0,
      },
    ]);
    const other = await db.admin.query<{ got: boolean }>(
      'select pg_try_advisory_lock(4242) as got, pg_advisory_unlock(4242)',
    );
    expect(other.rows[0]?.got).toBe(true);
  });
});

/** Peak RSS growth (MB) while `work` runs, sampled every 5 ms. */
async function peakRssGrowthMb(work: () => Promise<unknown>): Promise<number> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  return Math.round((peak - before) / 1024 / 1024);
}

describe('db node byte budget', () => {
  it('fails six 100 MB rows cleanly within the budget, cancels the backend and stays usable', async () => {
    const node = db.node({ poolSize: 1, maxBytes: 10 * 1024 * 1024 });
    const marker = `huge_${randomBytes(4).toString('hex')}`;
    let error: Error | undefined;
    const started = performance.now();
    const growth = await peakRssGrowthMb(async () => {
      error = await nodeFailure(
        runDb(node, {
          connection: 'main',
          query: `select repeat('x', 100000000) as v /* ${marker} */ from generate_series(1, 6)`,
          max_rows: 10,
          timeout_ms: 60_000,
        }),
      );
    });
    const ms = Math.round(performance.now() - started);
    console.info(
      `6 x 100 MB rows under a 10 MiB budget: failed in ${ms} ms, peak RSS +${growth} MB`,
    );
    expect(error).toMatchObject({ type: 'EXECUTION', retryable: false });
    expect(error?.message).toBe(
      'query result is over max_bytes (10485760 bytes); select fewer or smaller rows',
    );
    expect(growth).toBeLessThan(150);
    const running = async () =>
      (
        await db.admin.query(
          `select count(*)::int as n from pg_stat_activity where query like $1 and pid <> pg_backend_pid()`,
          [`%${marker}%`],
        )
      ).rows[0]?.['n'] as number;
    await expect.poll(running, { timeout: 10_000, interval: 100 }).toBe(0);
    const after = await runDb(node, { connection: 'main', query: 'select 1 as one' });
    expect(after.output.rows).toEqual([{ one: 1 }]);
  });

  it('fails a 30 MB result over the default budget that max_rows alone let through', async () => {
    const node = db.node({ maxBytes: 10 * 1024 * 1024 });
    const err = await nodeFailure(
      runDb(node, {
        connection: 'main',
        query: `select repeat('x', 10000000) as v from generate_series(1, 3)`,
      }),
    );
    expect(err.message).toContain('over max_bytes');
  });

  it('lets max_bytes lower the budget and rolls an oversized write back', async () => {
    const node = db.node();
    const err = await nodeFailure(
      runDb(node, {
        connection: 'main',
        query: `insert into orders (id, total) select 'bulk-' || i, i from generate_series(1, 50) as i
                returning repeat('x', 1000) as pad`,
        max_bytes: 4000,
      }),
    );
    expect(err.message).toContain('over max_bytes (4000 bytes)');
    const count = await db.admin.query("select 1 from orders where id like 'bulk-%'");
    expect(count.rowCount).toBe(0);
    const small = await runDb(node, {
      connection: 'main',
      query: `select repeat('x', 100) as v`,
      max_bytes: 4000,
    });
    expect(small.output.row_count).toBe(1);
  });
});
