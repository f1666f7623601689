import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

/** Undo steps run last-in first-out, once, each even when an earlier one failed. */
export class CleanupStack {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly log: (line: string) => void) {}

  push(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  /** Runs every step (newest first); a second call waits for the first. */
  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step.run();
      } catch (error) {
        this.log(`cleanup: ${step.name} failed: ${String(error)}`);
      }
    }
  }
}

/** Obliterates each queue (jobs and all BullMQ keys) and deletes any `bull:<name>:*` left. */
export async function obliterateQueues(redisUrl: string, names: readonly string[]): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    for (const name of names) {
      const queue = new Queue(name, { connection });
      await queue.obliterate({ force: true });
      await queue.close();
      await deleteMatching(connection, `bull:${name}:*`);
    }
  } finally {
    await connection.quit();
  }
}

async function deleteMatching(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
