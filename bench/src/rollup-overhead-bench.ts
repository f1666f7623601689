/**
 * What the cost rollups add to the executor's final write: times FINISH_SQL (the statement
 * the run store sends, rollup CTEs included) against the same text with the rollup CTEs
 * removed, on a scratch database, in alternating rounds so both see the same machine load.
 * Each execution is `running` with ROLLUP_BENCH_NODES node runs; every final write finishes
 * ROLLUP_BENCH_BATCH executions of ROLLUP_BENCH_WORKFLOWS workflows (one statement).
 *
 *   npx tsx bench/src/rollup-overhead-bench.ts
 *
 * Knobs: BENCH_DATABASE_BASE_URL, ROLLUP_BENCH_ROUNDS (20), ROLLUP_BENCH_PER_ROUND (100
 * statements per variant per round), ROLLUP_BENCH_BATCH (1), ROLLUP_BENCH_NODES (5),
 * ROLLUP_BENCH_WORKFLOWS (10).
 */
import pg from 'pg';
import { createScratchDatabase } from '../../scripts/scratch-database.ts';
import { rollupCtes } from '../../libs/store/src/cost-rollup-sql.ts';
import { FINISH_SQL } from '../../libs/store/src/run-store-sql.ts';

const num = (value: string | undefined, fallback: number): number =>
  value === undefined || value === '' ? fallback : Number(value);
const env = process.env;
const k = {
  baseUrl: env['BENCH_DATABASE_BASE_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres',
  rounds: num(env['ROLLUP_BENCH_ROUNDS'], 20),
  perRound: num(env['ROLLUP_BENCH_PER_ROUND'], 100),
  batch: num(env['ROLLUP_BENCH_BATCH'], 1),
  nodes: num(env['ROLLUP_BENCH_NODES'], 5),
  workflows: num(env['ROLLUP_BENCH_WORKFLOWS'], 10),
};
const log = (line: string) => process.stdout.write(`${line}\n`);

const WITHOUT = FINISH_SQL.replace(`${rollupCtes('upd', 1)}, `, '');
if (WITHOUT === FINISH_SQL) throw new TypeError('the rollup CTEs were not found in FINISH_SQL');

async function seed(pool: pg.Pool, executions: number): Promise<void> {
  await pool.query(`insert into tenants (id, name) values ('t', 't')`);
  await pool.query(
    `insert into workflows (id, tenant_id, name, latest_version)
     select 'wf-' || w, 't', 'w' || w, 1 from generate_series(0, $1 - 1) w`,
    [k.workflows],
  );
  await pool.query(
    `insert into workflow_versions (workflow_id, version, definition)
     select id, 1, '{"nodes": [], "edges": []}' from workflows`,
  );
  await pool.query(
    `insert into executions (id, tenant_id, workflow_id, workflow_version, status, priority, input_data,
       attempt, created_at, started_at, updated_at)
     select 'ex-' || g, 't', 'wf-' || (g % $2), 1, 'running', 'normal', '{}', 1, now(), now(), now()
     from generate_series(0, $1 - 1) g`,
    [executions, k.workflows],
  );
  await pool.query(
    `insert into node_runs (execution_id, node_id, type, status, attempts, output_bytes, usage, cost)
     select 'ex-' || g, 'n' || n, 'transform', 'success', 1 + (g % 3 = 0)::int, 100, '{}', 0.00001234
     from generate_series(0, $1 - 1) g, generate_series(0, $2 - 1) n`,
    [executions, k.nodes],
  );
  await pool.query('vacuum analyze');
}

/** Finishes executions [first, first + count) in statements of `k.batch`; ms per statement. */
async function finish(
  client: pg.PoolClient,
  variant: { name: string; text: string },
  first: number,
): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < k.perRound; i += 1) {
    const ids = Array.from({ length: k.batch }, (_, j) => `ex-${first + i * k.batch + j}`);
    const col = <T>(v: T) => ids.map(() => v);
    const start = performance.now();
    await client.query({
      name: variant.name,
      text: variant.text,
      values: [
        ids,
        col(1),
        col('success'),
        col('{}'),
        col(null),
        col(new Date()),
        col('done'),
      ].concat([[], [], [], [], [], []]),
    });
    ms.push(performance.now() - start);
  }
  return ms;
}

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: at(0.5), p99: at(0.99) };
};

async function main(): Promise<void> {
  const db = await createScratchDatabase({ baseUrl: k.baseUrl, prefix: 'linkflow_rollupbench' });
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    const perVariant = k.rounds * k.perRound * k.batch;
    await seed(pool, 2 * perVariant);
    const client = await pool.connect();
    const variants = [
      { name: 'with_rollup', text: FINISH_SQL, ms: [] as number[] },
      { name: 'without_rollup', text: WITHOUT, ms: [] as number[] },
    ];
    let next = 0;
    for (let round = 0; round < k.rounds; round += 1)
      for (const v of round % 2 === 0 ? variants : [...variants].reverse()) {
        v.ms.push(...(await finish(client, v, next)));
        next += k.perRound * k.batch;
      }
    client.release();
    const rollups = await pool.query<{ n: number }>('select count(*)::int as n from cost_rollups');
    log(
      `load: ${(await import('node:os'))
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    log(`batch ${k.batch}, ${k.nodes} node runs each, ${rollups.rows[0]?.n} cost_rollups rows`);
    log('| variant | statements | mean ms | p50 ms | p99 ms |\n| --- | --- | --- | --- | --- |');
    for (const v of variants) {
      const s = stats(v.ms);
      log(
        `| ${v.name} | ${v.ms.length} | ${s.mean.toFixed(3)} | ${s.p50.toFixed(3)} | ${s.p99.toFixed(3)} |`,
      );
    }
  } finally {
    await pool.end();
    await db.drop();
  }
}

await main();
