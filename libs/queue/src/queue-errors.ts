import { AppError, type FieldProblem } from '@linkflow/domain';

/**
 * Catalog of queue-layer errors. Each call builds a fresh instance (never reuse one).
 *
 * Codes:
 * - `INVALID_JOB_PAYLOAD` (user): a job payload does not match its catalog schema.
 * - `INVALID_CHANNEL_MESSAGE` (internal): a pub/sub message is not JSON or not the expected shape.
 * - `QUEUE_UNAVAILABLE` (unavailable, retryable): Redis failed a queue operation or did not
 *   answer before its deadline.
 * - `REDIS_EVICTION_POLICY` (unavailable): Redis may evict keys (`maxmemory-policy` is not
 *   `noeviction`), which would silently lose jobs.
 * - `TOO_MANY_TAG_SETS` (conflict): a new worker tag set would exceed the queues' limit.
 */
export const queueErrors = {
  invalidJobPayload: (jobName: string, problems: readonly FieldProblem[]) =>
    new AppError('INVALID_JOB_PAYLOAD', `payload for job ${jobName} is invalid`, {
      kind: 'user',
      problems,
      details: { jobName },
    }),
  invalidChannelMessage: (
    channel: string,
    reason: string,
    problems: readonly FieldProblem[] = [],
  ) =>
    new AppError('INVALID_CHANNEL_MESSAGE', `message on ${channel} ignored: ${reason}`, {
      kind: 'internal',
      problems,
      details: { channel },
    }),
  queueUnavailable: (operation: string, queue: string, cause: unknown) =>
    new AppError('QUEUE_UNAVAILABLE', `queue operation ${operation} failed`, {
      kind: 'unavailable',
      retryable: true,
      details: { operation, queue },
      cause,
    }),
  queueTimedOut: (operation: string, queue: string, timeoutMs: number) =>
    new AppError(
      'QUEUE_UNAVAILABLE',
      `queue operation ${operation} timed out after ${timeoutMs} ms`,
      {
        kind: 'unavailable',
        retryable: true,
        details: { operation, queue, timeoutMs },
      },
    ),
  tooManyTagSets: (tagSet: string, max: number) =>
    new AppError(
      'TOO_MANY_TAG_SETS',
      `worker_tags [${tagSet}] would be a new tag set, and ${max} distinct tag sets are already in use; reuse an existing set of worker_tags`,
      { kind: 'conflict', details: { tag_set: tagSet, max } },
    ),
  evictionPolicy: (policy: string) =>
    new AppError(
      'REDIS_EVICTION_POLICY',
      `Redis maxmemory-policy is ${policy}; it must be noeviction or queued jobs can be evicted (set maxmemory-policy noeviction)`,
      { kind: 'unavailable', details: { policy } },
    ),
};
