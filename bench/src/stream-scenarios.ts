import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createEventPublisher } from '@linkflow/queue';
import { BenchError } from './bench-error.ts';
import { readRssMb } from './child-process.ts';
import type { ScenarioContext } from './scenario-context.ts';
import { percentile, sleep } from './stats.ts';
import {
  closeAll,
  openMany,
  openTimedStream,
  streamUrl,
  type TimedStream,
} from './stream-clients.ts';
import { oneNodeWorkflow } from './workflows.ts';

/** Where the stream scenarios reach Redis and the queue (beyond the scenario context). */
export interface StreamTarget {
  readonly redisUrl: string;
  readonly queueName: string;
}

export interface FanoutResult {
  readonly subscribers: number;
  readonly lines: number;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface IdleResult {
  readonly sockets: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  readonly kbPerSocket: number;
}

export interface StreamEndResult {
  readonly runs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The executor's log write, as one statement (libs/store APPEND_LOGS_SQL for one line). */
const APPEND_ONE_SQL = `with s as (update executions set log_seq = log_seq + 1 where id = $1 returning log_seq)
  insert into execution_logs (execution_id, seq, at, level, node_id, message, data)
  select $1, s.log_seq, $2, 'info', null, $3, null from s returning seq`;

const LINE_GAP_MS = 10;
const DELIVERY_TIMEOUT_MS = 30_000;

/**
 * A pending execution nobody runs while `use` works: the queue is paused, and afterwards the
 * execution is cancelled through the API and the queue resumed.
 */
async function withHeldExecution<T>(
  ctx: ScenarioContext,
  target: StreamTarget,
  use: (executionId: string) => Promise<T>,
): Promise<T> {
  const connection = new Redis(target.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(target.queueName, { connection });
  await queue.pause();
  try {
    const workflowId = await ctx.api.createWorkflow(oneNodeWorkflow());
    const id = await ctx.api.startExecution(workflowId, { v: 0 });
    try {
      return await use(id);
    } finally {
      await ctx.api.cancelExecution(id);
    }
  } finally {
    await queue.resume();
    await queue.close();
    connection.disconnect();
  }
}

async function awaitDelivery(streams: readonly TimedStream[], seqs: readonly number[]) {
  const deadline = Date.now() + DELIVERY_TIMEOUT_MS;
  const missing = () => streams.filter((s) => seqs.some((q) => !s.logAt.has(q))).length;
  while (missing() > 0) {
    if (Date.now() > deadline)
      throw new BenchError(`${missing()} streams still miss lines after ${DELIVERY_TIMEOUT_MS} ms`);
    await sleep(20);
  }
}

/**
 * Log line committed in Postgres and published (as the executor does) → received by each of
 * `subscribers` sockets on the API: one latency sample per line and socket.
 */
async function measureFanout(
  ctx: ScenarioContext,
  target: StreamTarget,
  id: string,
  subscribers: number,
): Promise<FanoutResult> {
  const publisherRedis = new Redis(target.redisUrl);
  const events = createEventPublisher(publisherRedis, () => undefined);
  const streams = await openMany(streamUrl(ctx.stack.apiUrl, id, ctx.stack.apiKey), subscribers);
  const storedAt = new Map<number, number>();
  const write = async (message: string) => {
    const at = new Date();
    const { rows } = await ctx.pool.query<{ seq: number }>(APPEND_ONE_SQL, [id, at, message]);
    const seq = rows[0]?.seq;
    if (seq === undefined) throw new BenchError(`execution ${id} is gone`);
    storedAt.set(seq, performance.now());
    events.logs(id, [{ at, level: 'info', nodeId: null, message }], [seq]);
    return seq;
  };
  try {
    await awaitDelivery(streams, [await write('warm-up')]);
    const seqs: number[] = [];
    for (let i = 0; i < ctx.counts.wsFanoutLines; i++) {
      seqs.push(await write(`line ${i}`));
      await sleep(LINE_GAP_MS);
    }
    await awaitDelivery(streams, seqs);
    const samples = streams.flatMap((s) => seqs.map((q) => s.logAt.get(q)! - storedAt.get(q)!));
    return {
      subscribers,
      lines: seqs.length,
      samples: samples.length,
      p50Ms: percentile(samples, 50),
      p99Ms: percentile(samples, 99),
      maxMs: Math.max(...samples),
    };
  } finally {
    await closeAll(streams);
    publisherRedis.disconnect();
  }
}

/** API RSS before and after opening `sockets` idle streams (one execution, nothing logged). */
async function measureIdle(ctx: ScenarioContext, id: string, sockets: number): Promise<IdleResult> {
  const pid = ctx.stack.api.pid;
  await sleep(1_000);
  const rssBeforeMb = await readRssMb(pid);
  const streams = await openMany(streamUrl(ctx.stack.apiUrl, id, ctx.stack.apiKey), sockets);
  try {
    await sleep(2_000);
    const rssAfterMb = await readRssMb(pid);
    const kbPerSocket = ((rssAfterMb - rssBeforeMb) * 1024) / sockets;
    return { sockets, rssBeforeMb, rssAfterMb, kbPerSocket };
  } finally {
    await closeAll(streams);
  }
}

/** Fan-out latency with 100 subscribers, then the memory of idle sockets, on a held execution. */
export function runStreamFanout(
  ctx: ScenarioContext,
  target: StreamTarget,
): Promise<FanoutResult & { idle: IdleResult }> {
  return withHeldExecution(ctx, target, async (id) => {
    const fanout = await measureFanout(ctx, target, id, 100);
    const idle = await measureIdle(ctx, id, ctx.counts.wsIdleSockets);
    return { ...fanout, idle };
  });
}

/** One execution at a time: POST /api/executions → `{kind: "end"}` through the stream. */
export async function runStreamEndToEnd(ctx: ScenarioContext): Promise<StreamEndResult> {
  const workflowId = await ctx.api.createWorkflow(oneNodeWorkflow());
  const latencies: number[] = [];
  for (let i = 0; i < ctx.counts.wsEndToEndRuns; i++) {
    const started = performance.now();
    const id = await ctx.api.startExecution(workflowId, { v: i });
    const stream = await openTimedStream(streamUrl(ctx.stack.apiUrl, id, ctx.stack.apiKey));
    const endedAt = await Promise.race([
      stream.ended,
      sleep(DELIVERY_TIMEOUT_MS).then(() => Number.NaN),
    ]);
    stream.ws.terminate();
    if (Number.isNaN(endedAt)) throw new BenchError(`no end for execution ${id}`);
    latencies.push(endedAt - started);
  }
  return {
    runs: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
  };
}
