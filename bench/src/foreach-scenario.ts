import type { WorkflowDefinition } from '@linkflow/domain';
import { msBetween, waitForExecution, type ScenarioContext } from './scenario-context.ts';
import { median } from './stats.ts';
import { chainWorkflow } from './workflows.ts';

/** Iterations of the parallel loop at once (its `max_parallel` and the workflow's `max_concurrency`). */
export const FOREACH_MAX_PARALLEL = 50;

/**
 * A foreach over `[1..input.n]` whose body is one trivial transform, `parallel: true`,
 * `max_parallel: 50` (and `max_concurrency: 50`, which bounds it too).
 */
export function foreachWorkflow(): WorkflowDefinition {
  return {
    name: 'bench-foreach',
    nodes: [
      {
        id: 'each',
        type: 'foreach',
        config: {
          items: '[1..input.n]',
          body: ['item_v'],
          parallel: true,
          max_parallel: FOREACH_MAX_PARALLEL,
        },
      },
      { id: 'item_v', type: 'transform', config: { expression: '{"v": item}' } },
    ],
    edges: [],
    settings: { max_concurrency: FOREACH_MAX_PARALLEL },
  };
}

export interface ForeachResult {
  /** Median wall (`finished_at - started_at`) of the loop execution. */
  readonly wallMs: number;
  /** Median wall of a chain of items / max_parallel nodes: the loop with zero overhead. */
  readonly sequentialWallMs: number;
  /**
   * (loop wall − chain wall) / rounds, rounds = ⌈items / max_parallel⌉: each of the
   * max_parallel lanes runs `rounds` iterations one after another, so this is what one
   * iteration adds in its lane over a plain node run.
   */
  readonly perIterationOverheadMs: number;
  /** Loop wall / items: the amortised wall time per item. */
  readonly wallPerItemMs: number;
  readonly items: number;
  readonly maxParallel: number;
  readonly runs: number;
}

async function wallMs(ctx: ScenarioContext, workflowId: string, input: unknown): Promise<number> {
  const id = await ctx.api.startExecution(workflowId, input);
  const row = await waitForExecution(ctx, id);
  return msBetween(row.startedAt, row.finishedAt);
}

/**
 * The foreach over `foreachItems` (1,000 at full scale) trivial items, 50 at once, and for
 * comparison a chain of items/50 trivial nodes (what the loop would take if an iteration cost
 * exactly one node run), alternately, one execution at a time.
 */
export async function runForeach(ctx: ScenarioContext): Promise<ForeachResult> {
  const items = ctx.counts.foreachItems;
  const rounds = Math.max(1, Math.ceil(items / FOREACH_MAX_PARALLEL));
  const loop = await ctx.api.createWorkflow(foreachWorkflow());
  const chain = await ctx.api.createWorkflow(chainWorkflow(rounds));
  const loopWalls: number[] = [];
  const chainWalls: number[] = [];
  for (let i = 0; i < ctx.counts.foreachRuns; i++) {
    loopWalls.push(await wallMs(ctx, loop, { n: items }));
    chainWalls.push(await wallMs(ctx, chain, { v: 0 }));
  }
  const wall = median(loopWalls);
  const sequential = median(chainWalls);
  const result = {
    wallMs: wall,
    sequentialWallMs: sequential,
    perIterationOverheadMs: (wall - sequential) / rounds,
    wallPerItemMs: wall / items,
    items,
    maxParallel: FOREACH_MAX_PARALLEL,
    runs: loopWalls.length,
  };
  ctx.log(
    `foreach: ${items} items, max_parallel ${FOREACH_MAX_PARALLEL}: ${wall} ms; ` +
      `${rounds} sequential node runs: ${sequential} ms; ` +
      `per-iteration overhead ${result.perIterationOverheadMs.toFixed(3)} ms ` +
      `(${result.wallPerItemMs.toFixed(3)} ms of wall per item)`,
  );
  return result;
}
