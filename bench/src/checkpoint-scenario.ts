import { createApiClient, type ApiClient } from './api-client.ts';
import { msBetween, waitForExecution, type ScenarioContext } from './scenario-context.ts';
import type { Stack } from './services.ts';
import { median } from './stats.ts';
import { httpChainWorkflow } from './workflows.ts';

/** Nodes of the realistic workflow: `http` calls in a line. */
export const CHECKPOINT_CHAIN = 10;
/** Executions of each kind run first (JIT, pools, the HTTP agent's sockets warm). */
const WARM_UP_RUNS = 5;

export interface CheckpointResult {
  /** (median wall with checkpoints − median wall without) / median wall without × 100. */
  readonly overheadPct: number;
  /** Median `finished_at − started_at` with checkpoints (the measured stack's executor). */
  readonly onWallMs: number;
  /** The same without (the second executor, LINKFLOW_BENCH_SKIP_CHECKPOINTS=1). */
  readonly offWallMs: number;
  /** (on − off) / chain length: what one node's checkpoint adds to the wall. */
  readonly perNodeMs: number;
  readonly runs: number;
  readonly chainLength: number;
  readonly httpDelayMs: number;
  readonly mode: string;
}

async function wallMs(ctx: ScenarioContext, api: ApiClient, workflowId: string) {
  const id = await api.startExecution(workflowId, {});
  const row = await waitForExecution(ctx, id);
  return msBetween(row.startedAt, row.finishedAt);
}

/**
 * The 10-node `http` chain (each call answered after `httpDelayMs` by the harness's server)
 * run one execution at a time, alternately on the measured stack (checkpoints on) and on
 * `off` (an executor started with LINKFLOW_BENCH_SKIP_CHECKPOINTS=1, on its own queue and
 * API over the same database), `checkpointRuns` times each, after a few warm-up runs.
 */
export async function runCheckpointOverhead(
  ctx: ScenarioContext,
  off: Stack,
  http: { readonly url: string; readonly delayMs: number },
): Promise<CheckpointResult> {
  const offApi = createApiClient(off.apiUrl, off.apiKey, 2);
  try {
    // One definition, created through the first API: both stacks serve the same tenant.
    const workflowId = await ctx.api.createWorkflow(httpChainWorkflow(CHECKPOINT_CHAIN, http.url));
    const offCtx: ScenarioContext = { ...ctx, stack: off, api: offApi };
    for (let i = 0; i < WARM_UP_RUNS; i++) {
      await wallMs(ctx, ctx.api, workflowId);
      await wallMs(offCtx, offApi, workflowId);
    }
    const on: number[] = [];
    const offWalls: number[] = [];
    for (let i = 0; i < ctx.counts.checkpointRuns; i++) {
      on.push(await wallMs(ctx, ctx.api, workflowId));
      offWalls.push(await wallMs(offCtx, offApi, workflowId));
    }
    const [onWallMs, offWallMs] = [median(on), median(offWalls)];
    return {
      overheadPct: ((onWallMs - offWallMs) / offWallMs) * 100,
      onWallMs,
      offWallMs,
      perNodeMs: (onWallMs - offWallMs) / CHECKPOINT_CHAIN,
      runs: on.length,
      chainLength: CHECKPOINT_CHAIN,
      httpDelayMs: http.delayMs,
      mode: 'sequential, alternating on/off',
    };
  } finally {
    await offApi.close();
  }
}
