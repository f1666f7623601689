import { runConcurrently } from './api-client.ts';
import {
  msBetween,
  waitForExecution,
  waitForWorkflow,
  type ScenarioContext,
} from './scenario-context.ts';
import { median } from './stats.ts';
import {
  chainWorkflow,
  oneNodeWorkflow,
  THREE_NODE_INPUT,
  threeNodeWorkflow,
} from './workflows.ts';

/** Runs a few executions of each shape first so JIT and pools are warm before measuring. */
export async function warmUp(ctx: ScenarioContext, count: number): Promise<void> {
  const three = await ctx.api.createWorkflow(threeNodeWorkflow());
  const one = await ctx.api.createWorkflow(oneNodeWorkflow());
  await runConcurrently(count, ctx.clients, async (i) => {
    await ctx.api.startExecution(
      i % 2 === 0 ? three : one,
      i % 2 === 0 ? THREE_NODE_INPUT : { v: i },
    );
  });
  await waitForWorkflow(ctx, three, Math.ceil(count / 2));
  await waitForWorkflow(ctx, one, Math.floor(count / 2));
}

export interface ThroughputResult {
  readonly execPerS: number;
  readonly executions: number;
  readonly submitSeconds: number;
  readonly totalSeconds: number;
}

/** 3-node executions submitted by concurrent clients; first submit → last `finished_at`. */
export async function runThroughput(ctx: ScenarioContext): Promise<ThroughputResult> {
  const workflowId = await ctx.api.createWorkflow(threeNodeWorkflow());
  const executions = ctx.counts.throughputExecutions;
  const firstSubmit = Date.now();
  await runConcurrently(executions, ctx.clients, async () => {
    await ctx.api.startExecution(workflowId, THREE_NODE_INPUT);
  });
  const submitSeconds = (Date.now() - firstSubmit) / 1000;
  const lastFinished = await waitForWorkflow(ctx, workflowId, executions);
  const totalSeconds = Math.max(lastFinished.getTime() - firstSubmit, 1) / 1000;
  return { execPerS: executions / totalSeconds, executions, submitSeconds, totalSeconds };
}

export interface PerNodeResult {
  readonly overheadMs: number;
  readonly chainWallMs: number;
  readonly oneNodeWallMs: number;
  readonly chainLength: number;
  readonly runs: number;
}

const CHAIN_LENGTH = 100;

async function wallMs(ctx: ScenarioContext, workflowId: string): Promise<number> {
  const id = await ctx.api.startExecution(workflowId, { v: 0 });
  const row = await waitForExecution(ctx, id);
  return msBetween(row.startedAt, row.finishedAt);
}

/**
 * A 100-node chain and a 1-node workflow, alternately, one at a time; per-node overhead is
 * (median chain wall − median 1-node wall) / 99, wall = `finished_at - started_at`.
 */
export async function runPerNodeOverhead(ctx: ScenarioContext): Promise<PerNodeResult> {
  const chain = await ctx.api.createWorkflow(chainWorkflow(CHAIN_LENGTH));
  const one = await ctx.api.createWorkflow(oneNodeWorkflow());
  const chainWalls: number[] = [];
  const oneWalls: number[] = [];
  for (let i = 0; i < ctx.counts.chainRuns; i++) {
    chainWalls.push(await wallMs(ctx, chain));
    oneWalls.push(await wallMs(ctx, one));
  }
  const chainWallMs = median(chainWalls);
  const oneNodeWallMs = median(oneWalls);
  return {
    overheadMs: (chainWallMs - oneNodeWallMs) / (CHAIN_LENGTH - 1),
    chainWallMs,
    oneNodeWallMs,
    chainLength: CHAIN_LENGTH,
    runs: chainWalls.length,
  };
}
