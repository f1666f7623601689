import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchError } from './bench-error.ts';
import { DEFAULT_REDIS_URL } from '@linkflow/domain';

/** The repository root (bench/src/../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Scenario names, in run order: what `BENCH_ONLY` selects from. The ceilings a ratio needs
 * run whenever that ratio's scenario does (see {@link CEILINGS_NEEDED}).
 */
export const SCENARIO_NAMES = [
  'bullmq_ceiling',
  'pg_ceiling',
  'pg_commit_latency',
  'throughput',
  'latency',
  'per_node_overhead',
  'rss_drift',
  'large_payload',
  'foreach',
  'api_get',
  'ws_fanout',
  'ws_100_subscribers',
  'checkpoint_overhead',
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** The ceilings: measured on their own, before the API and executor start. */
const CEILING_NAMES: readonly ScenarioName[] = [
  'bullmq_ceiling',
  'pg_ceiling',
  'pg_commit_latency',
];

/** The scenarios that need the API and executor processes: every one but the ceilings. */
export const STACK_SCENARIOS: readonly ScenarioName[] = SCENARIO_NAMES.filter(
  (name) => !CEILING_NAMES.includes(name),
);

/** Ceilings a scenario's ratio figure is computed against. */
export const CEILINGS_NEEDED: Readonly<Partial<Record<ScenarioName, readonly ScenarioName[]>>> = {
  throughput: ['bullmq_ceiling'],
  per_node_overhead: ['pg_commit_latency'],
};

/**
 * The scenarios to run: every one when `only` is undefined, else those named plus the
 * ceilings their ratios need.
 */
export function selectedScenarios(only: ReadonlySet<ScenarioName> | undefined): Set<ScenarioName> {
  if (only === undefined) return new Set(SCENARIO_NAMES);
  const selected = new Set(only);
  for (const name of only) for (const ceiling of CEILINGS_NEEDED[name] ?? []) selected.add(ceiling);
  return selected;
}

/**
 * Parses `BENCH_ONLY`, a comma list of scenario names (spaces and empty items ignored);
 * undefined when unset or empty (run everything).
 * @throws BenchError naming the unknown names and listing the valid ones
 */
export function parseOnly(raw: string | undefined): ReadonlySet<ScenarioName> | undefined {
  const names = (raw ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0) return undefined;
  const valid: readonly string[] = SCENARIO_NAMES;
  const unknown = names.filter((n) => !valid.includes(n));
  if (unknown.length > 0) {
    throw new BenchError(
      `BENCH_ONLY: unknown scenario ${unknown.join(', ')}; valid names: ${SCENARIO_NAMES.join(', ')}`,
    );
  }
  return new Set(names as ScenarioName[]);
}

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
  /** BENCH_ONLY: the scenarios to run (plus the ceilings their ratios need); all when unset. */
  readonly only?: ReadonlySet<ScenarioName> | undefined;
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
  /** Executions of the 50-node HTTP chain the 100 subscribers follow. */
  wsSubscriberRuns: 4,
  /** Executions of the 10-node HTTP chain with checkpoints on, and as many with them off. */
  checkpointRuns: 50,
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
 * BENCH_CPU_PROF (a directory: the API and executor write `.cpuprofile` files there),
 * BENCH_ONLY (a comma list of {@link SCENARIO_NAMES}: only those run, with the ceilings
 * their ratios need).
 * @throws BenchError when a number is not positive or BENCH_ONLY names an unknown scenario
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
    only: parseOnly(env['BENCH_ONLY']),
    log: (line) => process.stdout.write(`${line}\n`),
  };
}
