import { describe, expect, it } from 'vitest';
import { runQueueOperation } from './queue-operation.ts';

const scope = { operation: 'enqueue', queue: 'executions', timeoutMs: 20 };

describe('runQueueOperation', () => {
  it('returns what the operation returns', async () => {
    await expect(runQueueOperation(scope, () => Promise.resolve('job-1'))).resolves.toBe('job-1');
  });

  it('fails with QUEUE_UNAVAILABLE when Redis does not answer before the deadline', async () => {
    const never = new Promise<string>(() => undefined);

    await expect(runQueueOperation(scope, () => never)).rejects.toMatchObject({
      code: 'QUEUE_UNAVAILABLE',
      retryable: true,
      details: { operation: 'enqueue', queue: 'executions', timeoutMs: 20 },
    });
  });

  it('wraps a Redis failure and keeps it as the cause', async () => {
    const failure = new TypeError('Connection is closed.');

    await expect(runQueueOperation(scope, () => Promise.reject(failure))).rejects.toMatchObject({
      code: 'QUEUE_UNAVAILABLE',
      cause: failure,
    });
  });
});
