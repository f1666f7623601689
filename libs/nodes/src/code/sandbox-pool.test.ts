import { Worker, type WorkerOptions } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFailure } from '../testing/node-failure.ts';
import { SandboxPool, type SandboxJob } from './sandbox-pool.ts';

const job: SandboxJob = {
  source: 'return 1',
  inputJson: 'null',
  nodesJson: '{}',
  memoryMb: 16,
  timeoutMs: 1_000,
  maxOutputBytes: 1024 * 1024,
};

/** A worker that becomes ready, then exits with code 7 on its first request. */
const dyingWorker = (options: WorkerOptions) =>
  new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.postMessage({ kind: 'ready' });
     parentPort.on('message', () => process.exit(7));`,
    { ...options, eval: true },
  );

/** A worker that fails while booting. */
const brokenWorker = (options: WorkerOptions) =>
  new Worker(`throw new RangeError('no wasm here')`, { ...options, eval: true });

/** A worker that answers with a reply for another run id first, then never again. */
const confusedWorker = (options: WorkerOptions) =>
  new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.postMessage({ kind: 'ready' });
     parentPort.on('message', (req) => parentPort.postMessage({ kind: 'result', id: req.id + 1000, ok: true, json: '1', logs: [], usage: {} }));`,
    { ...options, eval: true },
  );

let pool: SandboxPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('SandboxPool failures', () => {
  it('rejects a run whose worker dies with EXECUTION and replaces the worker', async () => {
    pool = new SandboxPool({ size: 1, defaultMemoryMb: 16, maxMemoryMb: 16, spawn: dyingWorker });
    const err = await nodeFailure(pool.run(job, new AbortController().signal));
    expect(err.type).toBe('EXECUTION');
    expect(err.message).toMatch(/worker died: exit code 7/);
    expect(pool.stats()).toMatchObject({ size: 1, alive: 1, busy: 0 });
  });

  it('gives up after repeated boot failures, with a retryable error', async () => {
    pool = new SandboxPool({ size: 1, defaultMemoryMb: 16, maxMemoryMb: 16, spawn: brokenWorker });
    const first = await nodeFailure(pool.run(job, new AbortController().signal));
    expect(first.message).toMatch(/fail to start: .*no wasm here/);
    expect(first.retryable).toBe(true);
    expect(pool.stats().alive).toBe(0);
    expect((await nodeFailure(pool.run(job, new AbortController().signal))).type).toBe('EXECUTION');
  });

  it('ignores replies for other runs and ends the run at deadline + grace', async () => {
    pool = new SandboxPool({
      size: 1,
      defaultMemoryMb: 16,
      maxMemoryMb: 16,
      graceMs: 20,
      spawn: confusedWorker,
    });
    const started = performance.now();
    const err = await nodeFailure(
      pool.run({ ...job, timeoutMs: 30 }, new AbortController().signal),
    );
    expect(err.type).toBe('TIMEOUT');
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('rejects queued and running runs with CANCELLATION on close, and later runs too', async () => {
    pool = new SandboxPool({
      size: 1,
      defaultMemoryMb: 16,
      maxMemoryMb: 16,
      spawn: confusedWorker,
    });
    const pending = [
      pool.run({ ...job, timeoutMs: 5_000 }, new AbortController().signal),
      pool.run(job, new AbortController().signal),
    ];
    const errors = pending.map(nodeFailure); // handlers attached before close() rejects them
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.close();
    for (const err of await Promise.all(errors)) expect(err.type).toBe('CANCELLATION');
    expect((await nodeFailure(pool.run(job, new AbortController().signal))).type).toBe(
      'CANCELLATION',
    );
    expect(pool.stats().closed).toBe(true);
  });
});
