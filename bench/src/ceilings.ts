import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { DEFAULT_PRIORITY } from '@linkflow/domain';
import { PRIORITIES } from '@linkflow/queue';
import { BenchError } from './bench-error.ts';
import type { WorkerMessage } from './bullmq-worker.ts';
import { REPO_ROOT } from './options.ts';
import { median, withDeadline } from './stats.ts';

const WORKER_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bullmq-worker.ts');
const CHUNK = 500;
/** The product's default priority: a job without a priority would skip the prioritized path. */
const PRIORITY_NORMAL = PRIORITIES[DEFAULT_PRIORITY];

interface CeilingWorker {
  readonly child: ChildProcess;
  readonly done: Promise<void>;
}

async function startCeilingWorker(env: Record<string, string>): Promise<CeilingWorker> {
  const child = fork(WORKER_PATH, [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new BenchError(`bullmq worker exited with ${code}`))),
  );
  exited.catch(() => undefined);
  const received = (type: WorkerMessage['type']) =>
    new Promise<void>((resolve) =>
      child.on('message', (message: WorkerMessage) => message.type === type && resolve()),
    );
  const ready = Promise.race([received('ready'), exited]);
  const done = Promise.race([received('done'), exited]);
  done.catch(() => undefined);
  await withDeadline(ready, 60_000, 'bullmq worker start');
  return { child, done };
}

async function stopCeilingWorker(worker: CeilingWorker): Promise<void> {
  if (worker.child.exitCode !== null) return;
  const exited = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.send('stop');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export interface BullmqCeilingRequest {
  readonly redisUrl: string;
  readonly queueName: string;
  readonly concurrency: number;
  readonly jobs: number;
}

async function addAll(queue: Queue, jobs: number): Promise<void> {
  for (let start = 0; start < jobs; start += CHUNK) {
    const size = Math.min(CHUNK, jobs - start);
    const data = { execution_id: 'bench', tenant_id: 'bench' };
    const opts = { priority: PRIORITY_NORMAL, removeOnComplete: true };
    await queue.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data, opts })));
  }
}

/**
 * Raw BullMQ no-op jobs/s: the harness adds `jobs` prioritized jobs with addBulk while a
 * worker child process at `concurrency` completes them; first add → last completion.
 */
export async function measureBullmqCeiling(req: BullmqCeilingRequest): Promise<number> {
  const worker = await startCeilingWorker({
    BENCH_REDIS_URL: req.redisUrl,
    BENCH_QUEUE: req.queueName,
    BENCH_CONCURRENCY: String(req.concurrency),
    BENCH_JOBS: String(req.jobs),
  });
  const connection = new Redis(req.redisUrl, { maxRetriesPerRequest: 1 });
  const queue = new Queue(req.queueName, { connection });
  try {
    const started = performance.now();
    await addAll(queue, req.jobs);
    await withDeadline(worker.done, Math.max(60_000, req.jobs * 10), 'bullmq ceiling jobs');
    return req.jobs / ((performance.now() - started) / 1000);
  } finally {
    await stopCeilingWorker(worker);
    await queue.obliterate({ force: true });
    await queue.close();
    await connection.quit();
  }
}

const SCRATCH_TABLE = `create table if not exists bench_scratch (
  id bigserial primary key, execution_id text not null, payload jsonb not null,
  at timestamptz not null default now())`;
const INSERT = 'insert into bench_scratch (execution_id, payload) values ($1, $2)';
const PAYLOAD = JSON.stringify({ status: 'success', output: { v: 1 } });

/** Single-row INSERT commits/s with `connections` clients inserting for `seconds`. */
export async function measurePgCeiling(
  databaseUrl: string,
  connections: number,
  seconds: number,
): Promise<number> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: connections });
  try {
    await pool.query(SCRATCH_TABLE);
    let commits = 0;
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const loop = async () => {
      const client = await pool.connect();
      try {
        while (performance.now() < deadline) {
          await client.query(INSERT, ['ceiling', PAYLOAD]);
          commits += 1;
        }
      } finally {
        client.release();
      }
    };
    await Promise.all(Array.from({ length: connections }, loop));
    return commits / ((performance.now() - started) / 1000);
  } finally {
    await pool.end();
  }
}

/** Median ms of `commits` single-row INSERT commits made one after another on one connection. */
export async function measurePgCommitLatency(
  databaseUrl: string,
  commits: number,
): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(SCRATCH_TABLE);
    const times: number[] = [];
    for (let i = 0; i < commits; i++) {
      const t0 = performance.now();
      await client.query(INSERT, ['latency', PAYLOAD]);
      times.push(performance.now() - t0);
    }
    await client.query('drop table bench_scratch');
    return median(times);
  } finally {
    await client.end();
  }
}
