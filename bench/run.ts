/**
 * `make bench`: runs the scenarios of issues 4 and 13 against the real API and executor
 * (started here), prints the table and writes bench/results/latest.json. Knobs: BENCH_SCALE,
 * BENCH_ONLY (comma list of scenario names), BENCH_EXECUTOR_CONCURRENCY,
 * BENCH_DATABASE_BASE_URL, REDIS_URL, BENCH_RESULTS_PATH, BENCH_CPU_PROF (directory for the
 * API and executor CPU profiles).
 */
import { formatTable, optionsFromEnv, runBench } from './src/index.ts';

try {
  const results = await runBench(optionsFromEnv(process.env));
  process.stdout.write(`\n${formatTable(results)}`);
  process.exit(0);
} catch (error) {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
