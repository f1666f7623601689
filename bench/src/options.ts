import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError } from './bench-error.ts';
import { DEFAULT_REDIS_URL } from '@linkflow/domain';

/** The repository root (bench/src/../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What a benchmark run is told; {@link optionsFromEnv} reads it from `BENCH_*` variables. */
export interface BenchOptions {
  /** Multiplier applied to every count and duration (0.01 for a smoke run). */
  readonly scale: number;
  /** EXECUTOR_CONCURRENCY of the executor, and the raw BullMQ worker's concurrency. */
  readonly executorConcurrency: number;
  /** Server URL whose database is used to CREATE/DROP the bench database. */
  readonly databaseBaseUrl: string;
  readonly redisUrl: string;
  /** Where the latest.json-shaped results are written. */
  readonly resultsPath: string;
  /** When set, the API and the executor run with `--cpu-prof` and write profiles here. */
  readonly cpuProfileDir?: string | undefined;
  /** Progress lines (scenario starts, figures); the table is printed by the CLI. */
  readonly log: (line: string) => void;
}

/** Full-scale counts and durations (issue 4); scaled by {@link scaled}. */
export const FULL_SCALE = {
  bullmqJobs: 20_000,
  pgCeilingSeconds: 5,
  pgLatencyCommits: 2_000,
  throughputExecutions: 5_000,
  latencyExecutions: 1_000,
  chainRuns: 20,
  rssExecutions: 20_000,
  largePayloadExecutions: 20,
  apiGetSeconds: 10,
  wsFanoutLines: 200,
  wsIdleSockets: 2_000,
  wsEndToEndRuns: 100,
  /** Items of the foreach scenario's loop, and how many times it runs. */
  foreachItems: 1_000,
  foreachRuns: 5,
} as const;

export type ScaledCounts = { readonly [K in keyof typeof FULL_SCALE]: number };

/** Counts for `scale`: each at least 1 (durations at least 1 s). */
export function scaled(scale: number): ScaledCounts {
  const entries = Object.entries(FULL_SCALE).map(([key, full]) => {
    const value = key.endsWith('Seconds') ? full * scale : Math.round(full * scale);
    return [key, Math.max(1, value)];
  });
  return Object.fromEntries(entries) as ScaledCounts;
}

const DEFAULT_BASE_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new BenchError(`${name}: expected a positive number, got "${raw}"`);
  }
  return value;
}

/**
 * Options from the environment: BENCH_SCALE (1), BENCH_EXECUTOR_CONCURRENCY (50),
 * BENCH_DATABASE_BASE_URL, REDIS_URL, BENCH_RESULTS_PATH (bench/results/latest.json),
 * BENCH_CPU_PROF (a directory: the API and executor write `.cpuprofile` files there).
 * @throws BenchError when a number is not positive
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv): BenchOptions {
  return {
    scale: positiveNumber(env, 'BENCH_SCALE', 1),
    executorConcurrency: Math.round(positiveNumber(env, 'BENCH_EXECUTOR_CONCURRENCY', 50)),
    databaseBaseUrl: env['BENCH_DATABASE_BASE_URL'] || DEFAULT_BASE_URL,
    redisUrl: env['REDIS_URL'] || DEFAULT_REDIS_URL,
    resultsPath:
      env['BENCH_RESULTS_PATH'] || path.join(REPO_ROOT, 'bench', 'results', 'latest.json'),
    cpuProfileDir: env['BENCH_CPU_PROF'] ? path.resolve(env['BENCH_CPU_PROF']) : undefined,
    log: (line) => process.stdout.write(`${line}\n`),
  };
}
