import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createEventPublisher } from '@linkflow/queue';
import { BenchError } from './bench-error.ts';
import { readRssMb } from './child-process.ts';
import type { ScenarioContext } from './scenario-context.ts';
import { percentile, sleep, withDeadline } from './stats.ts';
import { closeAll, openMany, streamUrl, type TimedStream } from './stream-clients.ts';
import { httpChainWorkflow, oneNodeWorkflow } from './workflows.ts';

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

export interface SubscriberResult {
  readonly subscribers: number;
  readonly runs: number;
  /** Node log lines per run (one per node of the chain). */
  readonly linesPerRun: number;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly chainLength: number;
  readonly httpDelayMs: number;
}

/** The executor's log write, as one statement (libs/store APPEND_LOGS_SQL for one line). */
const APPEND_ONE_SQL = `with s as (update executions set log_seq = log_seq + 1 where id = $1 returning log_seq)
  insert into execution_logs (execution_id, seq, at, level, node_id, message, data)
  select $1, s.log_seq, $2, 'info', null, $3, null from s returning seq`;

const LINE_GAP_MS = 10;
const DELIVERY_TIMEOUT_MS = 30_000;

/** Runs `use` while the queue is paused (nothing is taken), and resumes it afterwards. */
async function withPausedQueue<T>(target: StreamTarget, use: () => Promise<T>): Promise<T> {
  const connection = new Redis(target.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(target.queueName, { connection });
  await queue.pause();
  try {
    return await use();
  } finally {
    await queue.resume();
    await queue.close();
    connection.disconnect();
  }
}

/**
 * A pending execution nobody runs while `use` works: the queue is paused, and afterwards the
 * execution is cancelled through the API and the queue resumed.
 */
function withHeldExecution<T>(
  ctx: ScenarioContext,
  target: StreamTarget,
  use: (executionId: string) => Promise<T>,
): Promise<T> {
  return withPausedQueue(target, async () => {
    const workflowId = await ctx.api.createWorkflow(oneNodeWorkflow());
    const id = await ctx.api.startExecution(workflowId, { v: 0 });
    try {
      return await use(id);
    } finally {
      await ctx.api.cancelExecution(id);
    }
  });
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

const SUBSCRIBERS = 100;
/** Nodes of the chain the subscribers follow: one log line each, ~5 ms apart. */
const SUBSCRIBER_CHAIN = 50;

/** One run: 100 streams subscribed while the queue holds the execution, then it runs. */
async function followOneRun(
  ctx: ScenarioContext,
  target: StreamTarget,
  workflowId: string,
): Promise<number[][]> {
  const streams = await withPausedQueue(target, async () => {
    const id = await ctx.api.startExecution(workflowId, {});
    return openMany(streamUrl(ctx.stack.apiUrl, id, ctx.stack.apiKey), SUBSCRIBERS);
  });
  try {
    const what = 'ws_100_subscribers: terminal status on every stream';
    const ends = await withDeadline(
      Promise.all(streams.map((s) => s.terminal)),
      DELIVERY_TIMEOUT_MS,
      what,
    );
    const bad = ends.find((e) => e.status !== 'success');
    if (bad) throw new BenchError(`ws_100_subscribers: the execution ended ${bad.status}`);
    await withDeadline(Promise.all(streams.map((s) => s.ended)), DELIVERY_TIMEOUT_MS, what);
    // Node lines only: "execution started" is made at the start but stored with the first
    // node's checkpoint, so its `at` would count that node's run too.
    return streams.map((s) =>
      [...s.entries.values()]
        .filter((e) => e.nodeId !== null)
        .map((e) => e.receivedWallMs - e.atMs),
    );
  } finally {
    await closeAll(streams);
  }
}

/**
 * 100 WebSocket clients follow one execution of a 50-node `http` chain (each call answered
 * after `httpDelayMs` by the harness's server), subscribed before it starts. Per node log
 * line and client: receive wall time − the entry's `at` (when the executor made the line,
 * before its checkpoint committed), so an upper bound of stored → delivered.
 */
export async function runSubscriberFanout(
  ctx: ScenarioContext,
  target: StreamTarget,
  http: { readonly url: string; readonly delayMs: number },
): Promise<SubscriberResult> {
  const workflowId = await ctx.api.createWorkflow(httpChainWorkflow(SUBSCRIBER_CHAIN, http.url));
  const samples: number[] = [];
  let linesPerRun = 0;
  for (let run = 0; run < ctx.counts.wsSubscriberRuns; run++) {
    const perStream = await followOneRun(ctx, target, workflowId);
    linesPerRun = Math.max(...perStream.map((l) => l.length));
    if (perStream.some((l) => l.length !== linesPerRun))
      throw new BenchError('ws_100_subscribers: streams received different numbers of lines');
    samples.push(...perStream.flat());
  }
  return {
    subscribers: SUBSCRIBERS,
    runs: ctx.counts.wsSubscriberRuns,
    linesPerRun,
    samples: samples.length,
    p50Ms: percentile(samples, 50),
    p99Ms: percentile(samples, 99),
    maxMs: Math.max(...samples),
    chainLength: SUBSCRIBER_CHAIN,
    httpDelayMs: http.delayMs,
  };
}
