/**
 * `GET /api/executions/:id` alone, as the bench's api_get scenario runs it (autocannon, 50
 * connections, one finished one-node execution), on a fresh database with the real API and
 * one idle executor. Besides requests/s (noisy on a shared machine) it reports the CPU
 * milliseconds per GET spent by the API (its whole process tree: cluster workers included)
 * and by the Postgres backends of the bench database, which hold up better under load.
 *
 *   npx tsx bench/src/api-get-bench.ts
 *
 * Knobs: API_GET_BENCH_ROUNDS (3), API_GET_BENCH_SECONDS (5 per round),
 * API_GET_BENCH_CONNECTIONS (50), API_GET_BENCH_WORKERS (the API's API_WORKERS; unset: its
 * default), BENCH_CPU_PROF (directory: the API and executor write CPU profiles there),
 * BENCH_DATABASE_BASE_URL, REDIS_URL.
 */
import autocannon from 'autocannon';
import pg from 'pg';
import { createApiClient } from './api-client.ts';
import { BenchError } from './bench-error.ts';
import { CleanupStack, obliterateQueues } from './cleanup.ts';
import { cpuBetween, serviceCpu, treeCpu } from './cpu-accounting.ts';
import { createBenchDatabase } from './database.ts';
import { optionsFromEnv } from './options.ts';
import { waitForExecution } from './scenario-context.ts';
import { startStack, type Stack } from './services.ts';
import { median, round } from './stats.ts';
import { oneNodeWorkflow } from './workflows.ts';

const num = (value: string | undefined, fallback: number): number =>
  value === undefined || value === '' ? fallback : Number(value);
const env = process.env;
const k = {
  rounds: num(env['API_GET_BENCH_ROUNDS'], 3),
  seconds: num(env['API_GET_BENCH_SECONDS'], 5),
  connections: num(env['API_GET_BENCH_CONNECTIONS'], 50),
  workers: env['API_GET_BENCH_WORKERS'],
};
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Round {
  readonly rps: number;
  readonly apiMsPerGet: number;
  readonly pgMsPerGet: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function oneRound(stack: Stack, url: string, seconds: number, db: string): Promise<Round> {
  const [apiBefore, pgBefore] = [await treeCpu(stack.api.pid), await serviceCpu(db)];
  const result = await autocannon({
    url,
    connections: k.connections,
    duration: seconds,
    headers: { authorization: `Bearer ${stack.apiKey}` },
  });
  const [apiAfter, pgAfter] = [await treeCpu(stack.api.pid), await serviceCpu(db)];
  if (result.non2xx > 0 || result.errors > 0) {
    throw new BenchError(`${result.non2xx} non-2xx answers and ${result.errors} errors`);
  }
  const total = result.requests.total;
  return {
    rps: result.requests.average,
    apiMsPerGet: (cpuBetween(apiBefore, apiAfter) * 1000) / total,
    pgMsPerGet: (cpuBetween(pgBefore.postgres, pgAfter.postgres) * 1000) / total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}

async function main(cleanup: CleanupStack): Promise<void> {
  const options = optionsFromEnv(env);
  const database = await createBenchDatabase(options.databaseBaseUrl);
  cleanup.push('drop the database', () => database.drop());
  const queueName = `bench-api-get-${Date.now()}`;
  cleanup.push('remove the queues', () => obliterateQueues(options.redisUrl, [queueName]));
  const stack = await startStack(
    {
      databaseUrl: database.url,
      redisUrl: options.redisUrl,
      queueName,
      executorConcurrency: 10,
      cpuProfileDir: options.cpuProfileDir,
      apiEnv: k.workers === undefined ? undefined : { API_WORKERS: k.workers },
    },
    (name, step) => cleanup.push(name, step),
  );
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  cleanup.push('close the pool', () => pool.end());
  const api = createApiClient(stack.apiUrl, stack.apiKey, 2);
  cleanup.push('close the client', () => api.close());
  const workflowId = await api.createWorkflow(oneNodeWorkflow());
  const id = await api.startExecution(workflowId, { v: 1 });
  const ctx = { stack, api, pool, log } as unknown as Parameters<typeof waitForExecution>[0];
  await waitForExecution(ctx, id);
  const url = `${stack.apiUrl}/api/executions/${id}`;
  log(`warming up (2 s), then ${k.rounds} rounds of ${k.seconds} s …`);
  await oneRound(stack, url, 2, database.name);
  const rounds: Round[] = [];
  for (let i = 0; i < k.rounds; i++) {
    const r = await oneRound(stack, url, k.seconds, database.name);
    rounds.push(r);
    log(
      `round ${i + 1}: ${round(r.rps, 0)} GET/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, API ${round(r.apiMsPerGet, 3)} ms CPU/GET, Postgres ${round(r.pgMsPerGet, 3)} ms CPU/GET`,
    );
  }
  const med = (f: (r: Round) => number) => round(median(rounds.map(f)), 3);
  log(
    `median: ${med((r) => r.rps)} GET/s, API ${med((r) => r.apiMsPerGet)} ms CPU/GET, Postgres ${med((r) => r.pgMsPerGet)} ms CPU/GET`,
  );
}

const cleanup = new CleanupStack(log);
try {
  await main(cleanup);
} finally {
  await cleanup.run();
}
