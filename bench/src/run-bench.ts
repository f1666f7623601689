import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { runApiGet, type ApiGetResult } from './api-get.ts';
import { createApiClient } from './api-client.ts';
import { measureBullmqCeiling, measurePgCeiling, measurePgCommitLatency } from './ceilings.ts';
import { CleanupStack, obliterateQueues } from './cleanup.ts';
import { createBenchDatabase } from './database.ts';
import {
  runLatency,
  runPerNodeOverhead,
  runThroughput,
  warmUp,
  type LatencyResult,
  type PerNodeResult,
  type ThroughputResult,
} from './execution-scenarios.ts';
import { runForeach, type ForeachResult } from './foreach-scenario.ts';
import {
  runLargePayload,
  runRssDrift,
  type LargePayloadResult,
  type RssResult,
} from './memory-scenarios.ts';
import { scaled, type BenchOptions, type ScaledCounts } from './options.ts';
import {
  recordScenario,
  writeResults,
  type BenchResults,
  type ScenarioRecord,
  type ScenarioTarget,
} from './report.ts';
import type { ScenarioContext } from './scenario-context.ts';
import { startStack, type Stack } from './services.ts';
import { readRevision } from './revision.ts';
import { round } from './stats.ts';
import {
  runStreamEndToEnd,
  runStreamFanout,
  type FanoutResult,
  type IdleResult,
  type StreamEndResult,
} from './stream-scenarios.ts';

const CLIENTS = 50;
const PG_CEILING_CONNECTIONS = 16;
/** Executions run before the measured scenarios (× scale, at least 2): JIT and pools warm. */
const WARM_UP_EXECUTIONS = 200;

interface Ceilings {
  readonly bullmq: number;
  readonly pgCommits: number;
  readonly pgLatencyMs: number;
}

interface ExecutionFigures {
  readonly throughput: ThroughputResult;
  readonly latency: LatencyResult;
  readonly perNode: PerNodeResult;
  readonly rss: RssResult;
  readonly large: LargePayloadResult;
  readonly foreach: ForeachResult;
}

interface Measured extends ExecutionFigures {
  readonly apiGet: ApiGetResult;
  readonly fanout: FanoutResult & { idle: IdleResult };
  readonly streamEnd: StreamEndResult;
}

interface Run {
  readonly options: BenchOptions;
  /** Name of the bench database, once created. */
  database?: string;
  readonly counts: ScaledCounts;
  readonly records: Record<string, ScenarioRecord>;
  readonly cleanup: CleanupStack;
}

function scenarioTarget(run: Run, name: string, stack?: Stack): ScenarioTarget {
  const processes = stack ? { api: stack.api.pid, executor: stack.executor.pid } : {};
  const { records, options, database } = run;
  return { records, name, log: options.log, processes, database };
}

async function measureCeilings(run: Run, databaseUrl: string, queue: string): Promise<Ceilings> {
  const { options, counts } = run;
  const bullmq = await recordScenario(
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
  const pgCommits = await recordScenario(
    scenarioTarget(run, 'pg_ceiling'),
    () => measurePgCeiling(databaseUrl, PG_CEILING_CONNECTIONS, counts.pgCeilingSeconds),
    (perS) => ({ commits_per_s: perS, connections: PG_CEILING_CONNECTIONS }),
  );
  const pgLatencyMs = await recordScenario(
    scenarioTarget(run, 'pg_commit_latency'),
    () => measurePgCommitLatency(databaseUrl, counts.pgLatencyCommits),
    (ms) => ({ median_ms: ms, commits: counts.pgLatencyCommits }),
  );
  return { bullmq, pgCommits, pgLatencyMs };
}

async function measureExecutions(run: Run, ctx: ScenarioContext): Promise<ExecutionFigures> {
  const at = (name: string) => scenarioTarget(run, name, ctx.stack);
  await warmUp(ctx, Math.max(2, Math.round(WARM_UP_EXECUTIONS * run.options.scale)));
  const throughput = await recordScenario(at('throughput'), () => runThroughput(ctx), asDetails);
  const latency = await recordScenario(at('latency'), () => runLatency(ctx), latencyDetails);
  const perNode = await recordScenario(
    at('per_node_overhead'),
    () => runPerNodeOverhead(ctx),
    asDetails,
  );
  const rss = await recordScenario(
    at('rss_drift'),
    () => runRssDrift(ctx),
    (r) => ({
      ...r,
      exec_per_s: r.executions / r.seconds,
    }),
  );
  const large = await recordScenario(at('large_payload'), () => runLargePayload(ctx), asDetails);
  const foreach = await recordScenario(at('foreach'), () => runForeach(ctx), asDetails);
  return { throughput, latency, perNode, rss, large, foreach };
}

/** A scenario result as its details (the record converts keys to snake_case). */
function asDetails(result: object): Record<string, unknown> {
  return { ...result };
}

function latencyDetails(r: LatencyResult): Record<string, unknown> {
  return {
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    maxMs: r.maxMs,
    executions: r.executions,
    source: 'db_timestamps',
  };
}

async function startMeasuredStack(run: Run, databaseUrl: string, queueName: string) {
  const { options, counts, cleanup } = run;
  options.log('starting the API and one executor …');
  const stack = await startStack(
    {
      databaseUrl,
      redisUrl: options.redisUrl,
      queueName,
      executorConcurrency: options.executorConcurrency,
      cpuProfileDir: options.cpuProfileDir,
    },
    (name, step) => cleanup.push(name, step),
  );
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  cleanup.push('close the bench pool', () => pool.end());
  const api = createApiClient(stack.apiUrl, stack.apiKey, CLIENTS);
  cleanup.push('close the API client', () => api.close());
  const ctx: ScenarioContext = {
    stack,
    api,
    pool,
    counts,
    clients: CLIENTS,
    redisUrl: options.redisUrl,
    log: options.log,
  };
  return ctx;
}

async function measureWithStack(run: Run, databaseUrl: string, queue: string): Promise<Measured> {
  const ctx = await startMeasuredStack(run, databaseUrl, queue);
  const executions = await measureExecutions(run, ctx);
  const apiGet = await recordScenario(
    scenarioTarget(run, 'api_get', ctx.stack),
    () =>
      runApiGet({
        apiUrl: ctx.stack.apiUrl,
        apiKey: ctx.stack.apiKey,
        executionId: executions.latency.lastExecutionId,
        connections: CLIENTS,
        seconds: run.counts.apiGetSeconds,
      }),
    asDetails,
  );
  const at = (name: string) => scenarioTarget(run, name, ctx.stack);
  const target = { redisUrl: run.options.redisUrl, queueName: queue };
  const fanout = await recordScenario(
    at('ws_fanout'),
    () => runStreamFanout(ctx, target),
    (r) => {
      const { idle, ...rest } = r;
      return { ...rest, ...idle };
    },
  );
  const streamEnd = await recordScenario(
    at('ws_end_to_end'),
    () => runStreamEndToEnd(ctx),
    asDetails,
  );
  return { ...executions, apiGet, fanout, streamEnd };
}

function notesFor(m: Measured): string[] {
  const notes = [
    'latency is finished_at - created_at from the database (ms resolution); ws_end_to_end is POST -> `end` through the stream',
    `ws_idle_kb_per_socket: API RSS ${round(m.fanout.idle.rssBeforeMb, 1)} -> ${round(m.fanout.idle.rssAfterMb, 1)} MB for ${m.fanout.idle.sockets} idle streams (plus the 100 of the fan-out, closed by then)`,
  ];
  notes.push(
    `rss_drift: ${m.rss.executions} executions took ${round(m.rss.seconds, 1)} s (${round(m.rss.executions / m.rss.seconds, 1)}/s)`,
  );
  notes.push(
    `foreach: ${m.foreach.items} items, max_parallel ${m.foreach.maxParallel}, ${round(m.foreach.wallPerItemMs, 3)} ms of wall per item (median of ${m.foreach.runs} runs)`,
  );
  if (m.large.failure) notes.push(`large_payload failed: ${m.large.failure}`);
  else if (!m.large.ok) {
    notes.push(
      `large_payload: all ${m.large.executions} succeeded, but executor RSS peaked at ${round(m.large.maxRssMb, 1)} MB (limit 512)`,
    );
  }
  return notes;
}

interface Assembly {
  readonly run: Run;
  readonly revision: string | null;
  readonly startedAt: Date;
  readonly loadavgStart: number[];
  readonly ceilings: Ceilings;
  readonly measured: Measured;
}

function assembleResults(a: Assembly): BenchResults {
  const { ceilings: c, measured: m } = a;
  return {
    started_at: a.startedAt.toISOString(),
    duration_s: round((Date.now() - a.startedAt.getTime()) / 1000, 1),
    scale: a.run.options.scale,
    executor_concurrency: a.run.options.executorConcurrency,
    revision: a.revision,
    machine: {
      cpus: os.cpus().length,
      loadavg_start: a.loadavgStart.map((l) => round(l)),
      loadavg_end: os.loadavg().map((l) => round(l)),
      node: process.version,
    },
    bullmq_ceiling_jobs_per_s: round(c.bullmq, 1),
    pg_ceiling_commits_per_s: round(c.pgCommits, 1),
    pg_commit_latency_ms: round(c.pgLatencyMs, 3),
    throughput_exec_per_s: round(m.throughput.execPerS, 1),
    throughput_ratio_to_bullmq: round(m.throughput.execPerS / c.bullmq, 4),
    latency_p50_ms: m.latency.p50Ms,
    latency_p99_ms: m.latency.p99Ms,
    latency_source: 'db_timestamps',
    per_node_overhead_ms: round(m.perNode.overheadMs, 3),
    per_node_overhead_ratio: round(m.perNode.overheadMs / c.pgLatencyMs, 3),
    executor_rss_mb_start: round(m.rss.startMb, 1),
    executor_rss_mb_end: round(m.rss.endMb, 1),
    rss_drift_pct: round(m.rss.driftPct, 1),
    large_payload_ok: m.large.ok,
    large_payload_max_rss_mb: round(m.large.maxRssMb, 1),
    api_get_rps: round(m.apiGet.rps, 1),
    ws_fanout_p50_ms: round(m.fanout.p50Ms, 2),
    ws_fanout_p99_ms: round(m.fanout.p99Ms, 2),
    ws_end_to_end_p50_ms: round(m.streamEnd.p50Ms, 1),
    ws_end_to_end_p99_ms: round(m.streamEnd.p99Ms, 1),
    ws_idle_kb_per_socket: round(m.fanout.idle.kbPerSocket, 1),
    foreach_wall_ms: m.foreach.wallMs,
    foreach_sequential_wall_ms: m.foreach.sequentialWallMs,
    foreach_per_iteration_overhead_ms: round(m.foreach.perIterationOverheadMs, 3),
    notes: notesFor(m),
    scenarios: a.run.records,
  };
}

async function measureAll(run: Run): Promise<BenchResults> {
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
  cleanup.push('obliterate the bench queues', () => obliterateQueues(options.redisUrl, queues));
  const ceilings = await measureCeilings(run, db.url, `${queueName}-ceiling`);
  const measured = await measureWithStack(run, db.url, queueName);
  const results = assembleResults({ run, revision, startedAt, loadavgStart, ceilings, measured });
  await writeResults(options.resultsPath, results);
  options.log(`results written to ${options.resultsPath}`);
  return results;
}

/**
 * Runs every benchmark scenario against a fresh database, a fresh queue, and the real API and
 * executor processes it starts, writes latest.json-shaped results to `options.resultsPath`
 * and returns them. Everything it started or created is removed at the end, also on failure
 * and on SIGINT/SIGTERM (then the process exits with 130).
 */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const cleanup = new CleanupStack(options.log);
  const run: Run = { options, counts: scaled(options.scale), records: {}, cleanup };
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
