import { randomUUID } from 'node:crypto';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CANCEL_CHANNEL,
  createDeadLetterQueue,
  createExecutionQueue,
  createRedis,
  publishCancel,
  publishEvent,
  subscribeCancel,
  subscribeEvents,
  type CancelSignal,
  type DeadLetterQueue,
  type ExecutionEvent,
  type ExecutionQueue,
  type Redis,
} from './index.ts';
import type { AppError } from '@linkflow/domain';

const REDIS_URL = 'redis://127.0.0.1:6379';

let producer: Redis;
let workerConnection: Redis;
let subscriber: Redis;
const opened: (ExecutionQueue | DeadLetterQueue)[] = [];
const workers: Worker[] = [];

beforeAll(() => {
  producer = createRedis(REDIS_URL, { role: 'producer', connectionName: 'queue-int-producer' });
  workerConnection = createRedis(REDIS_URL, { role: 'worker', connectionName: 'queue-int-worker' });
  subscriber = createRedis(REDIS_URL, {
    role: 'subscriber',
    connectionName: 'queue-int-subscriber',
  });
});

afterEach(async () => {
  // Workers first: obliterate would otherwise race a worker still fetching jobs.
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  for (const handle of opened.splice(0)) {
    await handle.queue.obliterate({ force: true });
    await handle.close();
  }
});

afterAll(async () => {
  await Promise.all([producer.quit(), workerConnection.quit(), subscriber.quit()]);
});

function newQueue(): ExecutionQueue {
  const queue = createExecutionQueue({ connection: producer, name: `t-${randomUUID()}` });
  opened.push(queue);
  return queue;
}

function newId(): string {
  return `exec-${randomUUID()}`;
}

describe('execution queue', () => {
  it('stores the payload and the priority number under the execution id', async () => {
    const queue = newQueue();
    const executionId = newId();
    const trace = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };

    const jobId = await queue.enqueue({ executionId, tenantId: 'acme', priority: 'high', trace });

    const job = await queue.getJob(executionId);
    expect(jobId).toBe(executionId);
    expect(job?.data).toEqual({ execution_id: executionId, tenant_id: 'acme', trace });
    expect(job?.opts.priority).toBe(1);
    expect(job?.opts.attempts).toBe(3);
    expect(await job?.getState()).toBe('prioritized');
  });

  it('keeps one job when the same execution is enqueued twice', async () => {
    const queue = newQueue();
    const executionId = newId();

    const first = await queue.enqueue({ executionId, tenantId: 'acme', priority: 'normal' });
    const second = await queue.enqueue({ executionId, tenantId: 'acme', priority: 'low' });

    expect(second).toBe(first);
    expect(await queue.queue.getJobCountByTypes('waiting', 'prioritized')).toBe(1);
    expect((await queue.getJob(executionId))?.opts.priority).toBe(5);
  });

  it('rejects an execution id that cannot be a job id', async () => {
    const queue = newQueue();

    await expect(
      queue.enqueue({ executionId: '123', tenantId: 'acme', priority: 'normal' }),
    ).rejects.toMatchObject({
      code: 'INVALID_JOB_PAYLOAD',
    });
  });

  it('removes a waiting job and answers false when nothing is left', async () => {
    const queue = newQueue();
    const executionId = newId();
    await queue.enqueue({ executionId, tenantId: 'acme', priority: 'normal' });

    expect(await queue.remove(executionId)).toBe(true);
    expect(await queue.getJob(executionId)).toBeUndefined();
    expect(await queue.remove(executionId)).toBe(false);
  });

  it('does not remove a job a worker is running', async () => {
    const queue = newQueue();
    const executionId = newId();
    await queue.enqueue({ executionId, tenantId: 'acme', priority: 'normal' });
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const started = new Promise<void>((resolveStarted) => {
      const processor = (): Promise<void> => {
        resolveStarted();
        return held;
      };
      workers.push(new Worker(queue.name, processor, { connection: workerConnection }));
    });
    await started;

    expect(await queue.remove(executionId)).toBe(false);
    release();
  });

  it('hands a waiting high priority job to a free worker before a low one', async () => {
    const queue = newQueue();
    const low = newId();
    const high = newId();
    await queue.enqueue({ executionId: low, tenantId: 'acme', priority: 'low' });
    await queue.enqueue({ executionId: high, tenantId: 'acme', priority: 'high' });
    const order: string[] = [];

    await new Promise<void>((resolve) => {
      const worker = new Worker<{ execution_id: string }>(
        queue.name,
        (job) => {
          order.push(job.data.execution_id);
          if (order.length === 2) resolve();
          return Promise.resolve();
        },
        { connection: workerConnection, concurrency: 1 },
      );
      workers.push(worker);
    });

    expect(order).toEqual([high, low]);
  });
});

describe('requeue', () => {
  it('replaces a failed job with the same id, and leaves a live one alone', async () => {
    const queue = newQueue();
    const executionId = newId();
    await queue.enqueue({ executionId, tenantId: 'acme', priority: 'normal' });
    expect(await queue.requeue({ executionId, tenantId: 'acme', priority: 'high' })).toBe(false);
    expect(await queue.status(executionId)).toEqual({ state: 'prioritized' });
    // ARRANGE: the job fails for good
    await new Promise<void>((resolve) => {
      const worker = new Worker(
        queue.name,
        (): Promise<void> => Promise.reject(new UnrecoverableError('gave up')),
        {
          connection: workerConnection,
        },
      );
      worker.on('failed', () => resolve());
      workers.push(worker);
    });
    await Promise.all(workers.splice(0).map((worker) => worker.close()));
    expect(await queue.status(executionId)).toEqual({
      state: 'failed',
      failedReason: 'gave up',
      finishedOn: expect.any(Number),
    });
    // enqueue alone changes nothing while the failed job exists
    await queue.enqueue({ executionId, tenantId: 'acme', priority: 'normal' });
    expect((await queue.status(executionId)).state).toBe('failed');
    // ACT
    expect(await queue.requeue({ executionId, tenantId: 'acme', priority: 'high' })).toBe(true);
    // ASSERT
    expect(await queue.status(executionId)).toEqual({ state: 'prioritized' });
    expect((await queue.getJob(executionId))?.attemptsMade).toBe(0);
    expect(await queue.status(newId())).toEqual({ state: 'missing' });
  });
});

describe('dead-letter queue', () => {
  it('keeps the first reason per execution in the -dlq queue', async () => {
    const name = `t-${randomUUID()}`;
    const dlq = createDeadLetterQueue({
      connection: producer,
      name,
      clock: { now: () => new Date(0) },
    });
    opened.push(dlq);
    const executionId = newId();

    await dlq.add(executionId, 'worker crashed 3 times');
    await dlq.add(executionId, 'second reason');

    const job = await dlq.queue.getJob(executionId);
    expect(dlq.name).toBe(`${name}-dlq`);
    expect(job?.data).toEqual({
      execution_id: executionId,
      reason: 'worker crashed 3 times',
      dead_at: '1970-01-01T00:00:00.000Z',
    });
    expect(await dlq.size()).toBe(1);
  });
});

describe('channels', () => {
  it('delivers a cancel signal and reports a bad message without throwing', async () => {
    const executionId = newId();
    const invalid: AppError[] = [];
    let received: (signal: CancelSignal) => void = () => undefined;
    const signal = new Promise<CancelSignal>((resolve) => (received = resolve));
    const subscription = await subscribeCancel(
      subscriber,
      (s) => {
        if (s.execution_id === executionId) received(s);
      },
      { onInvalid: (error) => invalid.push(error) },
    );

    await producer.publish(CANCEL_CHANNEL, 'not json');
    await publishCancel(producer, executionId);

    expect(await signal).toEqual({ execution_id: executionId });
    expect(invalid.map((e) => e.code)).toContain('INVALID_CHANNEL_MESSAGE');
    await subscription.unsubscribe();
  });

  it('delivers published events to every subscription of the execution until it unsubscribes', async () => {
    const executionId = newId();
    const event: ExecutionEvent = {
      kind: 'status',
      status: 'running',
      at: '2026-01-01T00:00:00.000Z',
    };
    const first: ExecutionEvent[] = [];
    let onSecond: (e: ExecutionEvent) => void = () => undefined;
    const firstSubscription = await subscribeEvents(
      subscriber,
      executionId,
      (e) => void first.push(e),
    );
    const secondSubscription = await subscribeEvents(subscriber, executionId, (e) => onSecond(e));
    await firstSubscription.unsubscribe();

    const delivered = new Promise<ExecutionEvent>((resolve) => (onSecond = resolve));
    const receivers = await publishEvent(producer, executionId, event);

    expect(await delivered).toEqual(event);
    expect(receivers).toBeGreaterThanOrEqual(1);
    expect(first).toEqual([]);
    await secondSubscription.unsubscribe();
  });
});
