import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { scenarioTarget, wants, type BenchRun } from './bench-run.ts';
import { measureBullmqCeiling, measurePgCeiling, measurePgCommitLatency } from './ceilings.ts';
import { CleanupStack, obliterateQueues } from './cleanup.ts';
import { createBenchDatabase } from './database.ts';
import { scaled, selectedScenarios, SCENARIO_NAMES, type BenchOptions } from './options.ts';
import { recordScenario, writeResults, type BenchResults } from './report.ts';
import { readRevision } from './revision.ts';
import { measureWithStack } from './stack-scenarios.ts';
import { round } from './stats.ts';

const PG_CEILING_CONNECTIONS = 16;

async function measureCeilings(run: BenchRun, databaseUrl: string, queue: string): Promise<void> {
  const { options, counts, figures } = run;
  if (wants(run, 'bullmq_ceiling')) {
    run.bullmqJobsPerS = await recordScenario(
      scenarioTarget(run, 'bullmq_ceiling'),
      () =>
        measureBullmqCeiling({
          redisUrl: options.redisUrl,
          queueName: queue,
          concurrency: options.executorConcurrency,
          jobs: counts.bullmqJobs,
        }),
      (jobsPerS) => ({ jobs_per_s: jobsPerS, jobs: counts.bullmqJobs }),
    );
    figures.bullmq_ceiling_jobs_per_s = round(run.bullmqJobsPerS, 1);
  }
  if (wants(run, 'pg_ceiling')) {
    const pgCommits = await recordScenario(
      scenarioTarget(run, 'pg_ceiling'),
      () => measurePgCeiling(databaseUrl, PG_CEILING_CONNECTIONS, counts.pgCeilingSeconds),
      (perS) => ({ commits_per_s: perS, connections: PG_CEILING_CONNECTIONS }),
    );
    figures.pg_ceiling_commits_per_s = round(pgCommits, 1);
  }
  if (wants(run, 'pg_commit_latency')) {
    run.pgCommitLatencyMs = await recordScenario(
      scenarioTarget(run, 'pg_commit_latency'),
      () => measurePgCommitLatency(databaseUrl, counts.pgLatencyCommits),
      (ms) => ({ median_ms: ms, commits: counts.pgLatencyCommits }),
    );
    figures.pg_commit_latency_ms = round(run.pgCommitLatencyMs, 3);
  }
}

interface Assembly {
  readonly run: BenchRun;
  readonly revision: string | null;
  readonly startedAt: Date;
  readonly loadavgStart: number[];
}

function assembleResults({ run, revision, startedAt, loadavgStart }: Assembly): BenchResults {
  const only = run.options.only ? SCENARIO_NAMES.filter((n) => run.selected.has(n)) : undefined;
  return {
    started_at: startedAt.toISOString(),
    duration_s: round((Date.now() - startedAt.getTime()) / 1000, 1),
    scale: run.options.scale,
    executor_concurrency: run.options.executorConcurrency,
    revision,
    machine: {
      cpus: os.cpus().length,
      loadavg_start: loadavgStart.map((l) => round(l)),
      loadavg_end: os.loadavg().map((l) => round(l)),
      node: process.version,
    },
    ...(only && { only }),
    ...(run.figures.latency_p50_ms !== undefined && {
      latency_source: 'websocket_stream' as const,
    }),
    ...run.figures,
    notes: run.notes,
    scenarios: run.records,
  };
}

async function measureAll(run: BenchRun): Promise<BenchResults> {
  const { options, cleanup } = run;
  const startedAt = new Date();
  const loadavgStart = os.loadavg();
  const queueName = `bench-${randomBytes(6).toString('hex')}`;
  const revision = await readRevision();
  options.log('creating and migrating a fresh database …');
  const db = await createBenchDatabase(options.databaseBaseUrl);
  options.log(`database ${db.name}, queue ${queueName}`);
  run.database = db.name;
  cleanup.push(`drop database ${db.name}`, () => db.drop());
  const queues = [queueName, `${queueName}-dlq`, `${queueName}-ceiling`];
  if (wants(run, 'checkpoint_overhead'))
    queues.push(`${queueName}-nockpt`, `${queueName}-nockpt-dlq`);
  cleanup.push('obliterate the bench queues', () => obliterateQueues(options.redisUrl, queues));
  await measureCeilings(run, db.url, `${queueName}-ceiling`);
  await measureWithStack(run, { databaseUrl: db.url, queueName });
  const results = assembleResults({ run, revision, startedAt, loadavgStart });
  await writeResults(options.resultsPath, results);
  options.log(`results written to ${options.resultsPath}`);
  return results;
}

/**
 * Runs the benchmark scenarios (all, or those of `options.only` with the ceilings they
 * need) against a fresh database, a fresh queue, and the real API and executor processes
 * it starts, writes latest.json-shaped results to `options.resultsPath` and returns them.
 * Everything it started or created is removed at the end, also on failure and on
 * SIGINT/SIGTERM (then the process exits with 130).
 */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const cleanup = new CleanupStack(options.log);
  const run: BenchRun = {
    options,
    counts: scaled(options.scale),
    selected: selectedScenarios(options.only),
    records: {},
    figures: {},
    notes: [],
    cleanup,
  };
  const onSignal = (signal: NodeJS.Signals) => {
    options.log(`${signal}: cleaning up …`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await measureAll(run);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    options.log('cleaning up …');
    await cleanup.run();
  }
}
