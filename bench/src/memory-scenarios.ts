import { Redis } from 'ioredis';
import { BenchError } from './bench-error.ts';
import { runConcurrently } from './api-client.ts';
import { readRssMb } from './child-process.ts';
import { waitForExecution, waitForWorkflow, type ScenarioContext } from './scenario-context.ts';
import { LARGE_PAYLOAD_INPUT, largePayloadWorkflow, oneNodeWorkflow } from './workflows.ts';

interface RssSamples {
  readonly max: number;
  /** Samples in order of time. */
  readonly values: readonly number[];
}

/** Samples a process's RSS every `everyMs` until `stop()`. */
function sampleRss(pid: number, everyMs: number): { stop(): RssSamples } {
  const values: number[] = [];
  const sample = () =>
    readRssMb(pid).then(
      (mb) => values.push(mb),
      () => undefined,
    );
  void sample();
  const timer = setInterval(() => void sample(), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { max: Math.max(0, ...values), values };
    },
  };
}

/**
 * The lowest RSS in the first and in the last tenth of the samples: after a GC the RSS falls
 * back to the live set, so a floor that climbs is a leak while single readings mostly show
 * how much garbage the heap held at that moment.
 */
function rssFloors(values: readonly number[]): { first: number; last: number } {
  const n = Math.max(1, Math.floor(values.length / 10));
  return { first: Math.min(...values.slice(0, n)), last: Math.min(...values.slice(-n)) };
}

export interface RssResult {
  readonly startMb: number;
  readonly endMb: number;
  readonly maxMb: number;
  readonly driftPct: number;
  readonly floorFirstTenthMb: number;
  readonly floorLastTenthMb: number;
  readonly floorDriftPct: number;
  readonly executions: number;
  readonly seconds: number;
  /** Redis `used_memory` before and after (MB): completed jobs are trimmed, so it stays flat. */
  readonly redisStartMb: number;
  readonly redisEndMb: number;
}

/** Redis `used_memory` in MB. */
async function redisUsedMb(url: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('memory');
    const bytes = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
    return Math.round((bytes / 1024 / 1024) * 10) / 10;
  } finally {
    redis.disconnect();
  }
}

/** Executor RSS before and after many 1-node executions submitted by concurrent clients. */
export async function runRssDrift(ctx: ScenarioContext): Promise<RssResult> {
  const pid = ctx.stack.executor.pid;
  const workflowId = await ctx.api.createWorkflow(oneNodeWorkflow());
  const executions = ctx.counts.rssExecutions;
  const startMb = await readRssMb(pid);
  const redisStartMb = await redisUsedMb(ctx.redisUrl);
  const sampler = sampleRss(pid, 250);
  const started = Date.now();
  await runConcurrently(executions, ctx.clients, async (i) => {
    await ctx.api.startExecution(workflowId, { v: i });
  });
  await waitForWorkflow(ctx, workflowId, executions);
  const seconds = (Date.now() - started) / 1000;
  const samples = sampler.stop();
  const endMb = await readRssMb(pid);
  const redisEndMb = await redisUsedMb(ctx.redisUrl);
  const floors = rssFloors([startMb, ...samples.values, endMb]);
  return {
    startMb,
    endMb,
    maxMb: Math.max(samples.max, endMb),
    driftPct: ((endMb - startMb) / startMb) * 100,
    floorFirstTenthMb: floors.first,
    floorLastTenthMb: floors.last,
    floorDriftPct: ((floors.last - floors.first) / floors.first) * 100,
    executions,
    seconds,
    redisStartMb,
    redisEndMb,
  };
}

export interface LargePayloadResult {
  readonly ok: boolean;
  readonly maxRssMb: number;
  readonly executions: number;
  readonly payloadBytes: number;
  readonly failure: string | null;
}

const RSS_LIMIT_MB = 512;
const LARGE_PAYLOAD_CLIENTS = 4;

async function checkOutput(ctx: ScenarioContext, id: string): Promise<number> {
  const { rows } = await ctx.pool.query<{ count: unknown; bytes: number }>(
    `select e.output #> '{read,count}' as count, n.output_bytes as bytes
       from executions e join node_runs n on n.execution_id = e.id and n.node_id = 'build'
      where e.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row || row.count !== LARGE_PAYLOAD_INPUT.count) {
    throw new BenchError(`execution ${id}: read node saw ${JSON.stringify(row?.count)} items`);
  }
  return row.bytes;
}

/**
 * Executions passing a ~5 MB JSON from one transform to the next, a few at a time; ok when
 * all succeed with the whole structure seen downstream and the executor stays < 512 MB.
 */
export async function runLargePayload(ctx: ScenarioContext): Promise<LargePayloadResult> {
  const workflowId = await ctx.api.createWorkflow(largePayloadWorkflow());
  const executions = ctx.counts.largePayloadExecutions;
  const sampler = sampleRss(ctx.stack.executor.pid, 50);
  let payloadBytes = 0;
  let failure: string | null = null;
  try {
    await runConcurrently(executions, LARGE_PAYLOAD_CLIENTS, async () => {
      const id = await ctx.api.startExecution(workflowId, LARGE_PAYLOAD_INPUT);
      await waitForExecution(ctx, id);
      payloadBytes = Math.max(payloadBytes, await checkOutput(ctx, id));
    });
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  const maxRssMb = sampler.stop().max;
  const ok = failure === null && maxRssMb < RSS_LIMIT_MB;
  return { ok, maxRssMb, executions, payloadBytes, failure };
}
