import type pg from 'pg';
import type { ApiClient } from './api-client.ts';
import { BenchError } from './bench-error.ts';
import {
  countOutstanding,
  isTerminal,
  readExecution,
  readProgress,
  sampleFailure,
  type ExecutionTimes,
} from './database.ts';
import type { ScaledCounts } from './options.ts';
import type { Stack } from './services.ts';
import { sleep } from './stats.ts';

/** What every execution scenario gets. */
export interface ScenarioContext {
  readonly stack: Stack;
  readonly api: ApiClient;
  /** A pool on the bench database, for reading execution rows. */
  readonly pool: pg.Pool;
  readonly counts: ScaledCounts;
  /** Concurrent API clients for the parallel scenarios (50). */
  readonly clients: number;
  /** The Redis the stack's queues live on (for memory readings). */
  readonly redisUrl: string;
  readonly log: (line: string) => void;
}

/** No terminal execution for this long while some are outstanding means the run is stuck. */
const STALL_MS = 60_000;
const PROGRESS_POLL_MS = 250;
/**
 * One execution is polled after 2 ms, then less often (×1.5, at most every 10 ms): the figure
 * comes from database timestamps, so polling only has to be cheap, not immediate.
 */
const SINGLE_POLL_FIRST_MS = 2;
const SINGLE_POLL_MAX_MS = 10;
const SINGLE_TIMEOUT_MS = 60_000;

/**
 * Checks the finished executions of a workflow: all `expected` succeeded; returns the last
 * `finished_at`.
 * @throws BenchError when one did not succeed or some are missing
 */
async function finalProgress(
  ctx: ScenarioContext,
  workflowId: string,
  expected: number,
): Promise<Date> {
  const progress = await readProgress(ctx.pool, workflowId);
  const bad = (progress.counts['failed'] ?? 0) + (progress.counts['cancelled'] ?? 0);
  if (bad > 0) {
    const sample = await sampleFailure(ctx.pool, workflowId);
    throw new BenchError(`${bad} executions did not succeed; e.g. ${sample}`);
  }
  if (progress.terminal < expected || !progress.lastFinishedAt) {
    throw new BenchError(`${progress.terminal}/${expected} executions finished`);
  }
  return progress.lastFinishedAt;
}

/**
 * Polls the database until no execution of `workflowId` is pending or running (a cheap
 * query, so polling barely loads Postgres), then checks that all `expected` succeeded;
 * returns the latest `finished_at`.
 * @throws BenchError when one failed, a process died, or nothing finished for 60 s
 */
export async function waitForWorkflow(
  ctx: ScenarioContext,
  workflowId: string,
  expected: number,
): Promise<Date> {
  let lastOutstanding = -1;
  let lastChange = Date.now();
  for (;;) {
    ctx.stack.assertAlive();
    const outstanding = await countOutstanding(ctx.pool, workflowId);
    if (outstanding === 0) return finalProgress(ctx, workflowId, expected);
    if (outstanding !== lastOutstanding) [lastOutstanding, lastChange] = [outstanding, Date.now()];
    if (Date.now() - lastChange > STALL_MS) {
      const progress = await readProgress(ctx.pool, workflowId);
      throw new BenchError(
        `stalled at ${progress.terminal}/${expected}: ${JSON.stringify(progress.counts)}\n${outputTails(ctx)}`,
      );
    }
    await sleep(PROGRESS_POLL_MS);
  }
}

/**
 * Polls one execution (2 ms, then backing off to 10 ms) until it is terminal.
 * @throws BenchError when it ends other than `success` or takes more than 60 s
 */
export async function waitForExecution(ctx: ScenarioContext, id: string): Promise<ExecutionTimes> {
  const deadline = Date.now() + SINGLE_TIMEOUT_MS;
  let pollMs = SINGLE_POLL_FIRST_MS;
  while (Date.now() < deadline) {
    const row = await readExecution(ctx.pool, id);
    if (row && isTerminal(row.status)) {
      if (row.status !== 'success') {
        const { rows } = await ctx.pool.query('select error from executions where id = $1', [id]);
        throw new BenchError(`execution ${id} ended ${row.status}: ${JSON.stringify(rows[0])}`);
      }
      return row;
    }
    await sleep(pollMs);
    pollMs = Math.min(pollMs * 1.5, SINGLE_POLL_MAX_MS);
  }
  ctx.stack.assertAlive();
  throw new BenchError(
    `execution ${id} not finished within ${SINGLE_TIMEOUT_MS} ms\n${outputTails(ctx)}`,
  );
}

/** Milliseconds between two database timestamps. */
export function msBetween(from: Date | null, to: Date | null): number {
  if (!from || !to) throw new BenchError('missing timestamp on a finished execution');
  return to.getTime() - from.getTime();
}

/** The recent output of the API and the executor, for a stall message. */
function outputTails(ctx: ScenarioContext): string {
  const { api, executor } = ctx.stack;
  return [api, executor]
    .map((c) => `--- ${c.name} output (tail) ---\n${c.tail().slice(-4000)}`)
    .join('\n');
}
