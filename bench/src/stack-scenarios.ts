import pg from 'pg';
import { runApiGet } from './api-get.ts';
import { createApiClient } from './api-client.ts';
import { asDetails, scenarioTarget, wants, type BenchRun } from './bench-run.ts';
import { runCheckpointOverhead } from './checkpoint-scenario.ts';
import { runPerNodeOverhead, runThroughput, warmUp } from './execution-scenarios.ts';
import { runForeach } from './foreach-scenario.ts';
import { startHttpTarget, type HttpTarget } from './http-target.ts';
import { runLatency, type LatencyResult } from './latency-scenario.ts';
import { runLargePayload, runRssDrift } from './memory-scenarios.ts';
import { STACK_SCENARIOS, type ScenarioName } from './options.ts';
import { recordScenario } from './report.ts';
import { waitForExecution, type ScenarioContext } from './scenario-context.ts';
import { startStack } from './services.ts';
import { round } from './stats.ts';
import { runStreamFanout, runSubscriberFanout } from './stream-scenarios.ts';
import { oneNodeWorkflow, threeNodeWorkflow } from './workflows.ts';

const CLIENTS = 50;
/** Executions run before the measured scenarios (× scale, at least 2): JIT and pools warm. */
const WARM_UP_EXECUTIONS = 200;
/** How long the harness's HTTP server takes to answer a node's call. */
const HTTP_DELAY_MS = 5;

/** Where the stack scenarios run: the database, the queue, and the local HTTP target. */
interface Place {
  readonly databaseUrl: string;
  readonly queueName: string;
}

function startRunStack(run: BenchRun, place: Place, executorEnv?: Record<string, string>) {
  const { options, cleanup } = run;
  return startStack(
    {
      databaseUrl: place.databaseUrl,
      redisUrl: options.redisUrl,
      queueName: place.queueName,
      executorConcurrency: options.executorConcurrency,
      cpuProfileDir: options.cpuProfileDir,
      ...(executorEnv && { executorEnv }),
    },
    (name, step) => cleanup.push(name, step),
  );
}

async function startMeasuredStack(run: BenchRun, place: Place): Promise<ScenarioContext> {
  const { options, counts, cleanup } = run;
  options.log('starting the API and one executor …');
  const stack = await startRunStack(run, place);
  const pool = new pg.Pool({ connectionString: place.databaseUrl, max: 4 });
  cleanup.push('close the bench pool', () => pool.end());
  const api = createApiClient(stack.apiUrl, stack.apiKey, CLIENTS);
  cleanup.push('close the API client', () => api.close());
  const { redisUrl, log } = options;
  return { stack, api, pool, counts, clients: CLIENTS, redisUrl, log };
}

function latencyDetails(r: LatencyResult): Record<string, unknown> {
  const details: Record<string, unknown> = { ...r, source: 'websocket_stream' };
  delete details['lastExecutionId'];
  return details;
}

/** The latency scenario's figures and note; returns its last execution (for api_get). */
async function measureLatency(run: BenchRun, ctx: ScenarioContext): Promise<string> {
  const at = scenarioTarget(run, 'latency', [ctx.stack]);
  const l = await recordScenario(at, () => runLatency(ctx), latencyDetails);
  Object.assign(run.figures, {
    latency_p50_ms: round(l.p50Ms, 1),
    latency_p99_ms: round(l.p99Ms, 1),
    latency_db_p50_ms: l.dbP50Ms,
    latency_db_p99_ms: l.dbP99Ms,
    ws_end_to_end_p50_ms: round(l.endP50Ms, 1),
    ws_end_to_end_p99_ms: round(l.endP99Ms, 1),
  });
  run.notes.push(
    `latency: before POST → \`success\` status on the execution's stream, opened as soon as the POST returned the id (replay covers what happened before the upgrade); POST p50 ${round(l.postP50Ms, 1)} ms, id → upgrade p50 ${round(l.connectP50Ms, 1)} ms; ${l.connectBoundRuns}/${l.executions} runs had finished before their stream opened (for those the figure is POST + handshake, not the engine); latency_db_* is finished_at − created_at of the same runs`,
  );
  return l.lastExecutionId;
}

async function measureExecutions(run: BenchRun, ctx: ScenarioContext): Promise<string | null> {
  const at = (name: ScenarioName) => scenarioTarget(run, name, [ctx.stack]);
  const f = run.figures;
  await warmUp(ctx, Math.max(2, Math.round(WARM_UP_EXECUTIONS * run.options.scale)));
  if (wants(run, 'throughput')) {
    const t = await recordScenario(at('throughput'), () => runThroughput(ctx), asDetails);
    f.throughput_exec_per_s = round(t.execPerS, 1);
    if (run.bullmqJobsPerS)
      f.throughput_ratio_to_bullmq = round(t.execPerS / run.bullmqJobsPerS, 4);
  }
  const lastExecutionId = wants(run, 'latency') ? await measureLatency(run, ctx) : null;
  if (wants(run, 'per_node_overhead')) {
    const p = await recordScenario(
      at('per_node_overhead'),
      () => runPerNodeOverhead(ctx),
      asDetails,
    );
    f.per_node_overhead_ms = round(p.overheadMs, 3);
    if (run.pgCommitLatencyMs)
      f.per_node_overhead_ratio = round(p.overheadMs / run.pgCommitLatencyMs, 3);
  }
  await measureMemory(run, ctx);
  if (wants(run, 'foreach')) {
    const r = await recordScenario(at('foreach'), () => runForeach(ctx), asDetails);
    Object.assign(f, {
      foreach_wall_ms: r.wallMs,
      foreach_sequential_wall_ms: r.sequentialWallMs,
      foreach_per_iteration_overhead_ms: round(r.perIterationOverheadMs, 3),
      // Walls have ms resolution: a 0 ms chain (tiny scale) counts as 1 ms.
      foreach_ratio_to_sequential: round(r.wallMs / Math.max(r.sequentialWallMs, 1), 2),
    });
    run.notes.push(
      `foreach: ${r.items} items, max_parallel ${r.maxParallel}, ${round(r.wallPerItemMs, 3)} ms of wall per item (median of ${r.runs} runs); target "about the time of ${r.items}/${r.maxParallel} sequential node runs" read as loop wall ≤ 2 × the wall of a ${Math.ceil(r.items / r.maxParallel)}-node chain`,
    );
  }
  return lastExecutionId;
}

async function measureMemory(run: BenchRun, ctx: ScenarioContext): Promise<void> {
  const at = (name: ScenarioName) => scenarioTarget(run, name, [ctx.stack]);
  const f = run.figures;
  if (wants(run, 'rss_drift')) {
    const rss = await recordScenario(
      at('rss_drift'),
      () => runRssDrift(ctx),
      (r) => ({
        ...r,
        exec_per_s: r.executions / r.seconds,
      }),
    );
    f.executor_rss_mb_start = round(rss.startMb, 1);
    f.executor_rss_mb_end = round(rss.endMb, 1);
    f.rss_drift_pct = round(rss.driftPct, 1);
    run.notes.push(
      `rss_drift: ${rss.executions} executions took ${round(rss.seconds, 1)} s (${round(rss.executions / rss.seconds, 1)}/s)`,
    );
  }
  if (wants(run, 'large_payload')) {
    const large = await recordScenario(at('large_payload'), () => runLargePayload(ctx), asDetails);
    f.large_payload_ok = large.ok;
    f.large_payload_max_rss_mb = round(large.maxRssMb, 1);
    if (large.failure) run.notes.push(`large_payload failed: ${large.failure}`);
    else if (!large.ok) {
      run.notes.push(
        `large_payload: all ${large.executions} succeeded, but executor RSS peaked at ${round(large.maxRssMb, 1)} MB (limit 512)`,
      );
    }
  }
}

/** Some execution of the run, for GET /api/executions/:id (one is run when none exists). */
/** Up to 1,000 finished executions of the earlier scenarios, newest first (or one new one). */
/**
 * The executions `api_get` reads: the 1,000 newest successful three-node runs (throughput's
 * and rss_drift's workflow), else the newest successful ones of any kind. Not simply the
 * newest: in a full run the scenarios before it leave 5 MB payloads and 1,000-item loops,
 * whose detail is another measurement (a full run read them at 200 GET/s).
 */
async function executionsToRead(ctx: ScenarioContext, known: string | null): Promise<string[]> {
  const res = await ctx.pool.query<{ id: string }>(
    `select e.id from executions e join workflows w on w.id = e.workflow_id
     where e.status = 'success' and w.name = $1
     order by e.created_at desc limit 1000`,
    [threeNodeWorkflow().name],
  );
  if (res.rows.length > 0) return res.rows.map((r) => r.id);
  const any = await ctx.pool.query<{ id: string }>(
    `select id from executions where status = 'success' order by created_at desc limit 1000`,
  );
  if (any.rows.length > 0) return any.rows.map((r) => r.id);
  return [await someExecution(ctx, known)];
}

async function someExecution(ctx: ScenarioContext, known: string | null): Promise<string> {
  if (known) return known;
  const id = await ctx.api.startExecution(await ctx.api.createWorkflow(oneNodeWorkflow()), {
    v: 0,
  });
  await waitForExecution(ctx, id);
  return id;
}

async function measureStreams(
  run: BenchRun,
  ctx: ScenarioContext,
  place: Place,
  http?: HttpTarget,
) {
  const at = (name: ScenarioName) => scenarioTarget(run, name, [ctx.stack]);
  const f = run.figures;
  const target = { redisUrl: run.options.redisUrl, queueName: place.queueName };
  if (wants(run, 'ws_fanout')) {
    const fan = await recordScenario(
      at('ws_fanout'),
      () => runStreamFanout(ctx, target),
      (r) => {
        const { idle, ...rest } = r;
        return { ...rest, ...idle };
      },
    );
    f.ws_fanout_p50_ms = round(fan.p50Ms, 2);
    f.ws_fanout_p99_ms = round(fan.p99Ms, 2);
    f.ws_idle_kb_per_socket = round(fan.idle.kbPerSocket, 1);
    run.notes.push(
      `ws_idle_kb_per_socket: API RSS ${round(fan.idle.rssBeforeMb, 1)} -> ${round(fan.idle.rssAfterMb, 1)} MB for ${fan.idle.sockets} idle streams (plus the 100 of the fan-out, closed by then)`,
    );
  }
  if (http && wants(run, 'ws_100_subscribers')) {
    const target2 = { url: http.url, delayMs: HTTP_DELAY_MS };
    const sub = await recordScenario(
      at('ws_100_subscribers'),
      () => runSubscriberFanout(ctx, target, target2),
      asDetails,
    );
    f.ws_100_subscribers_p50_ms = round(sub.p50Ms, 2);
    f.ws_100_subscribers_p99_ms = round(sub.p99Ms, 2);
    run.notes.push(
      `ws_100_subscribers: ${sub.subscribers} streams follow ${sub.runs} run(s) of a ${sub.chainLength}-node http chain (${sub.httpDelayMs} ms per call); per node line and stream, receive time − the entry's \`at\` (when the executor made the line, before its checkpoint committed): an upper bound of stored → delivered. ws_fanout measures from after the commit, with lines the harness writes`,
    );
  }
}

async function measureCheckpoints(
  run: BenchRun,
  ctx: ScenarioContext,
  place: Place,
  http: HttpTarget,
) {
  run.options.log('starting a second API and executor with LINKFLOW_BENCH_SKIP_CHECKPOINTS=1 …');
  const off = await startRunStack(
    run,
    { ...place, queueName: `${place.queueName}-nockpt` },
    { LINKFLOW_BENCH_SKIP_CHECKPOINTS: '1' },
  );
  try {
    const c = await recordScenario(
      scenarioTarget(run, 'checkpoint_overhead', [ctx.stack, off]),
      () => runCheckpointOverhead(ctx, off, { url: http.url, delayMs: HTTP_DELAY_MS }),
      asDetails,
    );
    run.figures.checkpoint_on_wall_ms = round(c.onWallMs, 1);
    run.figures.checkpoint_off_wall_ms = round(c.offWallMs, 1);
    run.figures.checkpoint_overhead_pct = round(c.overheadPct, 1);
    run.notes.push(
      `checkpoint_overhead: a ${c.chainLength}-node http chain (${c.httpDelayMs} ms per call), ${c.runs} executions each way, ${c.mode}; off = a second API + executor on their own queue with LINKFLOW_BENCH_SKIP_CHECKPOINTS=1; median finished_at − started_at; ${round(c.perNodeMs, 2)} ms per checkpoint`,
    );
  } finally {
    await off.stop();
  }
}

/**
 * Starts the API and executor (when a selected scenario needs them) and runs the selected
 * stack scenarios in order, adding their figures and notes to `run`.
 */
export async function measureWithStack(run: BenchRun, place: Place): Promise<void> {
  if (!STACK_SCENARIOS.some((name) => wants(run, name))) return;
  const ctx = await startMeasuredStack(run, place);
  const needsHttp = wants(run, 'ws_100_subscribers') || wants(run, 'checkpoint_overhead');
  const http = needsHttp ? await startHttpTarget(HTTP_DELAY_MS) : undefined;
  if (http) run.cleanup.push('close the HTTP target', () => http.close());
  const lastExecutionId = await measureExecutions(run, ctx);
  if (wants(run, 'api_get')) {
    const executionIds = await executionsToRead(ctx, lastExecutionId);
    const { apiUrl, apiKey } = ctx.stack;
    const seconds = run.counts.apiGetSeconds;
    const get = await recordScenario(
      scenarioTarget(run, 'api_get', [ctx.stack]),
      () => runApiGet({ apiUrl, apiKey, executionIds, connections: CLIENTS, seconds }),
      asDetails,
    );
    run.figures.api_get_rps = round(get.rps, 1);
  }
  await measureStreams(run, ctx, place, http);
  if (http && wants(run, 'checkpoint_overhead')) await measureCheckpoints(run, ctx, place, http);
}
