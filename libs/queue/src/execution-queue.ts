import { MicroBatcher, type Priority } from '@linkflow/domain';
import { Queue, type Job, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  EXECUTION_RUN_JOB,
  JOB_CATALOG,
  PRIORITIES,
  parseJobPayload,
  type ExecutionRunPayload,
} from './job-catalog.ts';
import {
  DEFAULT_OPERATION_TIMEOUT_MS,
  forwardQueueErrors,
  runQueueOperation,
} from './queue-operation.ts';

/** The BullMQ queue type that carries execution runs. */
export type ExecutionRunQueue = Queue<ExecutionRunPayload, unknown, typeof EXECUTION_RUN_JOB>;

/** A job of {@link ExecutionRunQueue}. */
export type ExecutionRunJob = Job<ExecutionRunPayload, unknown, typeof EXECUTION_RUN_JOB>;

/** Options for {@link createExecutionQueue}. */
export interface ExecutionQueueOptions {
  /** A `producer` connection from `createRedis`; the queue shares it and never closes it. */
  readonly connection: Redis;
  /** Queue name, e.g. `executions` (tests use `t-${randomUUID()}`); must not contain `:`. */
  readonly name: string;
  /** Deadline of each operation; defaults to {@link DEFAULT_OPERATION_TIMEOUT_MS}. */
  readonly operationTimeoutMs?: number;
  /** Receives the queue's `error` events (connection errors); ignored when absent. */
  readonly onError?: (err: Error) => void;
}

/** What the API needs to start an execution's job. */
export interface EnqueueRequest {
  readonly executionId: string;
  readonly tenantId: string;
  readonly priority: Priority;
  /** W3C trace context from `injectTraceContext()`, so the executor continues the trace. */
  readonly trace?: Readonly<Record<string, string>>;
}

/** Producer-side handle on the execution queue. */
export interface ExecutionQueue {
  readonly name: string;
  /** The raw BullMQ queue, for admin routes (counts, pause, resume). */
  readonly queue: ExecutionRunQueue;
  /**
   * Adds the `execution.run` job for an execution and returns its job id (= execution id).
   * Idempotent while the job exists: a second call for the same execution returns the same
   * id and changes nothing (not even the priority). Finished jobs are kept for a while (see
   * `JOB_CATALOG`), so running an execution again goes through {@link requeue}, which
   * replaces a finished job.
   * @throws AppError `INVALID_JOB_PAYLOAD` (user) when the ids or trace do not fit the catalog.
   * @throws AppError `QUEUE_UNAVAILABLE` (unavailable, retryable) when Redis fails or does not
   * answer within the operation deadline (the job may still be added later; retrying is safe).
   */
  enqueue(request: EnqueueRequest): Promise<string>;
  /**
   * Removes the job of a pending execution (waiting, prioritized or delayed). Returns false
   * when there is no such job, when it is active (locked by a worker: cancel it through the
   * cancel channel instead) or already finished.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  remove(executionId: string): Promise<boolean>;
  /**
   * The job of an execution, or `undefined` when none exists.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  getJob(executionId: string): Promise<ExecutionRunJob | undefined>;
  /**
   * The state of an execution's job (`missing` when there is none) and, for a failed one,
   * why it failed. A job is live while `waiting`, `prioritized`, `delayed`, `active` or
   * `waiting-children` (see {@link isLiveJobState}).
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  status(executionId: string): Promise<ExecutionJobStatus>;
  /**
   * Enqueues an execution again after its job was lost or finished: a `completed` or
   * `failed` job with the same id is removed first (BullMQ ignores an add whose id exists,
   * so without that the execution would never run). Does nothing when a live job exists.
   * Returns true when a job was added.
   * @throws AppError `INVALID_JOB_PAYLOAD` (user) when the ids or trace do not fit the catalog.
   * @throws AppError `QUEUE_UNAVAILABLE` when Redis fails or times out.
   */
  requeue(request: EnqueueRequest): Promise<boolean>;
  /** Closes the queue (not the shared connection). */
  close(): Promise<void>;
}

/** The state of an execution's job, as {@link ExecutionQueue.status} reports it. */
export interface ExecutionJobStatus {
  readonly state: JobState | 'unknown' | 'missing';
  /** BullMQ's failure reason of a `failed` job. */
  readonly failedReason?: string;
  /** When a `failed` job failed (epoch ms, the failing worker's clock). */
  readonly finishedOn?: number;
}

const LIVE_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'prioritized',
  'delayed',
  'active',
  'waiting-children',
]);

/** True while a job will still be (or is being) processed by some worker. */
export function isLiveJobState(state: ExecutionJobStatus['state']): boolean {
  return LIVE_STATES.has(state);
}

/** Job states from which a job may be removed without touching a worker. */
const REMOVABLE_STATES: ReadonlySet<string> = new Set([
  'waiting',
  'prioritized',
  'delayed',
  'waiting-children',
]);

function buildPayload(request: EnqueueRequest): ExecutionRunPayload {
  const payload: ExecutionRunPayload = {
    execution_id: request.executionId,
    tenant_id: request.tenantId,
  };
  if (request.trace !== undefined) payload.trace = { ...request.trace };
  return payload;
}

/**
 * Creates the producer side of the execution queue: `execution.run` jobs with the catalog's
 * options, job id = execution id, and an explicit BullMQ priority from {@link PRIORITIES}.
 */
export function createExecutionQueue(options: ExecutionQueueOptions): ExecutionQueue {
  const { name } = options;
  const timeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const queue: ExecutionRunQueue = new Queue(name, { connection: options.connection });
  forwardQueueErrors(queue, options.onError);
  const guarded = <T>(operation: string, run: () => Promise<T>): Promise<T> =>
    runQueueOperation({ operation, queue: name, timeoutMs }, run);

  // Enqueues that arrive while an add is in flight go out together as one addBulk
  // (one Redis round trip), the queue-side half of the API's group commit.
  const jobName: typeof EXECUTION_RUN_JOB = EXECUTION_RUN_JOB;
  const adds = new MicroBatcher<EnqueueRequest, string>({
    key: (r) => r.executionId,
    run: async (batch) => {
      const jobs = batch.map((request) => {
        const parsed = parseJobPayload(EXECUTION_RUN_JOB, buildPayload(request));
        if (!parsed.ok) throw parsed.error;
        const opts = {
          ...JOB_CATALOG[EXECUTION_RUN_JOB].defaultOptions,
          jobId: request.executionId,
          priority: PRIORITIES[request.priority],
        };
        return { name: jobName, data: parsed.value, opts };
      });
      const added = await guarded('enqueue', () => queue.addBulk(jobs));
      return added.map((job, i) => job.id ?? (batch[i] as EnqueueRequest).executionId);
    },
  });

  async function enqueue(request: EnqueueRequest): Promise<string> {
    const parsed = parseJobPayload(EXECUTION_RUN_JOB, buildPayload(request));
    if (!parsed.ok) throw parsed.error;
    return adds.submit(request);
  }

  async function remove(executionId: string): Promise<boolean> {
    return guarded('remove', async () => {
      const job = await queue.getJob(executionId);
      if (job === undefined) return false;
      // Checked first because `Queue.remove` would also delete finished jobs. If a worker
      // takes the job between the check and the removal, its lock makes `remove` answer 0.
      if (!REMOVABLE_STATES.has(await job.getState())) return false;
      return (await queue.remove(executionId)) === 1;
    });
  }

  async function status(executionId: string): Promise<ExecutionJobStatus> {
    return guarded('status', async () => {
      const job = await queue.getJob(executionId);
      if (job === undefined) return { state: 'missing' };
      const state = await job.getState();
      if (state !== 'failed') return { state };
      const { failedReason, finishedOn } = job;
      return finishedOn === undefined
        ? { state, failedReason }
        : { state, failedReason, finishedOn };
    });
  }

  async function requeue(request: EnqueueRequest): Promise<boolean> {
    const parsed = parseJobPayload(EXECUTION_RUN_JOB, buildPayload(request));
    if (!parsed.ok) throw parsed.error;
    return guarded('requeue', async () => {
      const job = await queue.getJob(request.executionId);
      if (job !== undefined) {
        const state = await job.getState();
        if (isLiveJobState(state)) return false;
        // A finished job holds no lock, so removing it cannot race a worker; an `unknown` one
        // (its hash left behind outside every list, e.g. after a partial loss) would make
        // the add below a silent no-op.
        await job.remove();
      }
      const opts = {
        ...JOB_CATALOG[EXECUTION_RUN_JOB].defaultOptions,
        jobId: request.executionId,
        priority: PRIORITIES[request.priority],
      };
      await queue.add(jobName, parsed.value, opts);
      return true;
    });
  }

  return {
    name,
    queue,
    enqueue,
    remove,
    status,
    requeue,
    getJob: (executionId) => guarded('getJob', () => queue.getJob(executionId)),
    close: () => queue.close(),
  };
}
