/**
 * The cost report over a large history: creates a scratch database (migrated), seeds
 * COST_BENCH_EXECUTIONS executions (default 1,000,000) over the last 30 days with
 * COST_BENCH_NODES node runs each (default 2) using `generate_series` INSERT … SELECT, times
 * `readCostReport` (the route's SQL) for each period and grouping, prints the plans of the
 * heaviest case, and drops the database. The rows are inserted finished, not through the
 * run store, so the cost rollups are then built with the migration's backfill statements.
 *
 *   npx tsx bench/src/cost-report-bench.ts
 *
 * Knobs: BENCH_DATABASE_BASE_URL (default the local server), COST_BENCH_EXECUTIONS,
 * COST_BENCH_NODES, COST_BENCH_TENANTS (default 50), COST_BENCH_WORKFLOWS (per tenant, 10),
 * COST_BENCH_REPEAT (timed runs per case, 5).
 */
import pg from 'pg';
import { createScratchDatabase } from '../../scripts/scratch-database.ts';
import { readCostReport, type CostGroupBy } from '../../libs/store/src/cost-report-repository.ts';
import { groupsSql, nodesSql, wholeDays } from '../../libs/store/src/cost-report-sql.ts';
import { rebuildCostRollups } from '../../libs/store/src/cost-rollups.ts';

interface Knobs {
  readonly baseUrl: string;
  readonly executions: number;
  readonly nodes: number;
  readonly tenants: number;
  readonly workflowsPerTenant: number;
  readonly repeat: number;
}

const num = (value: string | undefined, fallback: number): number =>
  value === undefined || value === '' ? fallback : Number(value);

function knobs(env: NodeJS.ProcessEnv): Knobs {
  return {
    baseUrl: env['BENCH_DATABASE_BASE_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres',
    executions: num(env['COST_BENCH_EXECUTIONS'], 1_000_000),
    nodes: num(env['COST_BENCH_NODES'], 2),
    tenants: num(env['COST_BENCH_TENANTS'], 50),
    workflowsPerTenant: num(env['COST_BENCH_WORKFLOWS'], 10),
    repeat: num(env['COST_BENCH_REPEAT'], 5),
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

async function timed<T>(label: string, run: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await run();
  log(`${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return result;
}

/**
 * Execution g belongs to workflow g % W (tenant of that workflow), is created g × (30 d / N)
 * before now, and costs 1e-8 × (1 + g % 5000) USD; node k of it costs its share, node 0 is
 * retried on one run in 3, node 1 outputs 2 MiB on one run in 2.
 */
async function seed(pool: pg.Pool, k: Knobs): Promise<void> {
  const workflows = k.tenants * k.workflowsPerTenant;
  await pool.query(
    `insert into tenants (id, name) select 'tenant-' || t, 'tenant ' || t from generate_series(0, $1 - 1) t`,
    [k.tenants],
  );
  await pool.query(
    `insert into workflows (id, tenant_id, name, latest_version)
     select 'wf-' || w, 'tenant-' || (w % $2), 'workflow ' || w, 1 from generate_series(0, $1 - 1) w`,
    [workflows, k.tenants],
  );
  await timed(`seed ${k.executions.toLocaleString('en')} executions`, () =>
    pool.query(
      `insert into executions (id, tenant_id, workflow_id, workflow_version, status, priority, input_data,
         cost_total, created_at, started_at, finished_at, updated_at)
       select 'ex-' || g, 'tenant-' || ((g % $2) % $3), 'wf-' || (g % $2), 1, 'success', 'normal', '{}',
         (1 + g % 5000) * 0.00000001 * $4, c, c, c, c
       from generate_series(0, $1 - 1) g, lateral (select now() - g * (interval '30 days' / $1::float8) as c) t`,
      [k.executions, workflows, k.tenants, k.nodes],
    ),
  );
  await timed(`seed ${(k.executions * k.nodes).toLocaleString('en')} node runs`, () =>
    pool.query(
      `insert into node_runs (execution_id, node_id, type, status, attempts, output_bytes, usage, cost)
       select 'ex-' || g, 'node-' || n, case n when 0 then 'http' else 'transform' end, 'success',
         case when n = 0 and g % 3 = 0 then 2 else 1 end,
         case when n = 1 and g % 2 = 0 then 2097152 else 100 end,
         '{"wall_ms": 5}', (1 + g % 5000) * 0.00000001
       from generate_series(0, $1 - 1) g, generate_series(0, $2 - 1) n`,
      [k.executions, k.nodes],
    ),
  );
  await timed('build the cost rollups (backfill)', () => rebuildCostRollups(pool));
  await timed('vacuum analyze', async () => {
    for (const table of ['executions', 'node_runs', 'cost_rollups', 'node_cost_rollups'])
      await pool.query(`vacuum analyze ${table}`);
  });
  const { rows } = await pool.query<{ execs: number; nodes: number }>(
    'select (select count(*)::int from cost_rollups) as execs, (select count(*)::int from node_cost_rollups) as nodes',
  );
  log(`rollup rows: ${rows[0]?.execs} cost_rollups, ${rows[0]?.nodes} node_cost_rollups`);
}

const PERIOD_MS = { day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000 } as const;

async function measure(pool: pg.Pool, k: Knobs): Promise<void> {
  log(
    '\n| period | group_by | scope | groups | median ms | max ms |\n| --- | --- | --- | --- | --- | --- |',
  );
  for (const period of ['day', 'week', 'month'] as const)
    for (const groupBy of ['workflow', 'tenant'] as CostGroupBy[])
      for (const tenantId of [undefined, 'tenant-0']) {
        const to = new Date();
        const query = { groupBy, from: new Date(to.getTime() - PERIOD_MS[period]), to, tenantId };
        await readCostReport(pool, query); // warm
        const ms: number[] = [];
        let groups = 0;
        for (let i = 0; i < k.repeat; i += 1) {
          const start = performance.now();
          groups = (await readCostReport(pool, query)).groups.length;
          ms.push(performance.now() - start);
        }
        ms.sort((a, b) => a - b);
        const median = ms[Math.floor(ms.length / 2)] ?? 0;
        const max = ms[ms.length - 1] ?? 0;
        log(
          `| ${period} | ${groupBy} | ${tenantId ? 'one tenant' : 'all (admin)'} | ${groups} | ${median.toFixed(0)} | ${max.toFixed(0)} |`,
        );
      }
}

async function main(): Promise<void> {
  const k = knobs(process.env);
  const db = await timed('create and migrate scratch database', () =>
    createScratchDatabase({ baseUrl: k.baseUrl, prefix: 'linkflow_costbench' }),
  );
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  try {
    await seed(pool, k);
    await measure(pool, k);
    if (process.argv.includes('--explain')) await explain(pool);
  } finally {
    await pool.end();
    await db.drop();
    log(`dropped ${db.name}`);
  }
}

/** Plans of a month, every tenant and one, with the report's settings. */
async function explain(pool: pg.Pool): Promise<void> {
  const to = new Date();
  const from = new Date(to.getTime() - PERIOD_MS.month);
  const { fullFrom, fullTo } = wholeDays(from, to);
  const period = [from, to, null, fullFrom, fullTo];
  const client = await pool.connect();
  await client.query('begin read only');
  await client.query(`set local work_mem = '64MB'`);
  await client.query('set local random_page_cost = 1.1');
  const tenant = [from, to, 'tenant-0', fullFrom, fullTo];
  const rules = [3, 20, 0.25, 1048576, 0.5, 10, 20];
  for (const [sql, values] of [
    [groupsSql('all', 'tenant'), period],
    [nodesSql('all'), [...period, ...rules]],
    [groupsSql('tenant', 'workflow'), tenant],
    [nodesSql('tenant'), [...tenant, ...rules]],
  ] as const) {
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `explain (analyze, buffers) ${sql}`,
      [...values],
    );
    log(`\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
  }
  await client.query('commit');
  client.release();
}

await main();
