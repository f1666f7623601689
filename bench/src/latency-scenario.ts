import { BenchError } from './bench-error.ts';
import type { ScenarioContext } from './scenario-context.ts';
import { median, percentile, withDeadline } from './stats.ts';
import { openTimedStream, streamUrl } from './stream-clients.ts';
import { oneNodeWorkflow } from './workflows.ts';

/** How long one execution may take before the scenario fails. */
const RUN_TIMEOUT_MS = 30_000;

export interface LatencyResult {
  /** Before POST → the execution's `success` status received on its stream. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Before POST → `{kind: "end"}` received (what ws_end_to_end measured). */
  readonly endP50Ms: number;
  readonly endP99Ms: number;
  /** Before POST → the 202 with the id; then id → the stream's upgrade done. */
  readonly postP50Ms: number;
  readonly connectP50Ms: number;
  /**
   * Runs whose execution had already finished (`finished_at`) when the stream opened: for
   * those the figure is bounded by POST + WebSocket handshake, not by the engine.
   */
  readonly connectBoundRuns: number;
  /** `finished_at − created_at` of the same runs (database timestamps, ms resolution). */
  readonly dbP50Ms: number;
  readonly dbP99Ms: number;
  readonly executions: number;
  /** An execution that exists at the end, for the GET scenario. */
  readonly lastExecutionId: string;
}

interface RunTimes {
  readonly id: string;
  readonly startedAt: number;
  readonly postedAt: number;
  readonly openedAt: number;
  /** Wall clock (ms since the epoch) when the stream opened, to compare with `finished_at`. */
  readonly openedWallMs: number;
  readonly successAt: number;
  readonly endAt: number;
}

/**
 * One execution: the clock starts just before POST; the stream is opened as soon as the
 * id is back (the server replays whatever happened before the upgrade), and stops at the
 * execution's terminal status.
 */
async function timedRun(ctx: ScenarioContext, workflowId: string, i: number): Promise<RunTimes> {
  const startedAt = performance.now();
  const id = await ctx.api.startExecution(workflowId, { v: i });
  const postedAt = performance.now();
  const stream = await openTimedStream(streamUrl(ctx.stack.apiUrl, id, ctx.stack.apiKey));
  const openedAt = performance.now();
  try {
    const what = `execution ${id} on its stream`;
    const terminal = await withDeadline(stream.terminal, RUN_TIMEOUT_MS, what);
    if (terminal.status !== 'success') throw new BenchError(`${what}: ${terminal.status}`);
    const endAt = await withDeadline(stream.ended, RUN_TIMEOUT_MS, what);
    const openedWallMs = performance.timeOrigin + openedAt;
    return { id, startedAt, postedAt, openedAt, openedWallMs, successAt: terminal.at, endAt };
  } finally {
    stream.ws.terminate();
  }
}

/** `finished_at − created_at` and `finished_at` (epoch ms) of the runs, from Postgres. */
async function dbTimes(ctx: ScenarioContext, ids: readonly string[]) {
  const { rows } = await ctx.pool.query<{ id: string; created_at: Date; finished_at: Date }>(
    'select id, created_at, finished_at from executions where id = any($1::text[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * 1-node executions one after another, each timed through its WebSocket stream (before
 * POST → `success` status received), plus the database's `finished_at − created_at` of the
 * same runs.
 */
export async function runLatency(ctx: ScenarioContext): Promise<LatencyResult> {
  const workflowId = await ctx.api.createWorkflow(oneNodeWorkflow());
  const runs: RunTimes[] = [];
  for (let i = 0; i < ctx.counts.latencyExecutions; i++)
    runs.push(await timedRun(ctx, workflowId, i));
  const rows = await dbTimes(
    ctx,
    runs.map((r) => r.id),
  );
  const db = runs.map((r) => {
    const row = rows.get(r.id);
    if (!row?.finished_at) throw new BenchError(`execution ${r.id} has no finished_at`);
    return {
      ms: row.finished_at.getTime() - row.created_at.getTime(),
      connectBound: row.finished_at.getTime() <= r.openedWallMs,
    };
  });
  const ws = runs.map((r) => r.successAt - r.startedAt);
  const end = runs.map((r) => r.endAt - r.startedAt);
  return {
    p50Ms: percentile(ws, 50),
    p99Ms: percentile(ws, 99),
    maxMs: Math.max(...ws),
    endP50Ms: percentile(end, 50),
    endP99Ms: percentile(end, 99),
    postP50Ms: median(runs.map((r) => r.postedAt - r.startedAt)),
    connectP50Ms: median(runs.map((r) => r.openedAt - r.postedAt)),
    connectBoundRuns: db.filter((d) => d.connectBound).length,
    dbP50Ms: percentile(
      db.map((d) => d.ms),
      50,
    ),
    dbP99Ms: percentile(
      db.map((d) => d.ms),
      99,
    ),
    executions: runs.length,
    lastExecutionId: runs.at(-1)?.id ?? '',
  };
}
