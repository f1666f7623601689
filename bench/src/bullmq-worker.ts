/**
 * Child process of the BullMQ ceiling scenario: a no-op BullMQ worker at the executor's
 * concurrency. It reports `ready` once connected and `done` when BENCH_JOBS jobs completed;
 * on `stop` it closes and exits. Started by ceilings.ts with `fork`.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

export type WorkerMessage = { type: 'ready' } | { type: 'done'; count: number };

const redisUrl = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const queueName = process.env['BENCH_QUEUE'] ?? '';
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? '50');
const expected = Number(process.env['BENCH_JOBS'] ?? '0');

const send = (message: WorkerMessage) => process.send?.(message);

async function main(): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker(queueName, () => Promise.resolve(), { connection, concurrency });
  let completed = 0;
  worker.on('completed', () => {
    completed += 1;
    if (completed === expected) send({ type: 'done', count: completed });
  });
  process.on('message', (message) => {
    if (message !== 'stop') return;
    void worker
      .close()
      .then(() => connection.quit())
      .finally(() => process.exit(0));
  });
  // Forked with an IPC channel: when the harness goes away, so does this worker.
  process.once('disconnect', () => process.exit(0));
  await worker.waitUntilReady();
  send({ type: 'ready' });
}

await main();
