import { describe, expect, it, vi } from 'vitest';
import { AppError, type SpawnedExecution } from '@linkflow/domain';
import type { EngineLogger } from '../ports.ts';
import { enqueueErrorWorkflow } from './error-workflow.ts';

const spawned: SpawnedExecution = {
  executionId: 'e-1',
  tenantId: 't-1',
  priority: 'normal',
  workerTags: [],
};

function logger() {
  const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn(), debug: vi.fn() };
  return { log, asLogger: log as unknown as EngineLogger };
}

describe('enqueueErrorWorkflow', () => {
  it('enqueues the started execution', async () => {
    const { log, asLogger } = logger();
    const requeue = vi.fn().mockResolvedValue(true);
    await enqueueErrorWorkflow({ requeue }, asLogger, spawned);
    expect(requeue).toHaveBeenCalledWith(spawned);
    expect(log.warn).not.toHaveBeenCalled();
  });

  it('logs and does not throw when the queue is down (the sweeper enqueues it later)', async () => {
    const { log, asLogger } = logger();
    const down = new AppError('QUEUE_UNAVAILABLE', 'redis down', { kind: 'unavailable' });
    const requeue = vi.fn().mockRejectedValue(down);
    await expect(enqueueErrorWorkflow({ requeue }, asLogger, spawned)).resolves.toBeUndefined();
    expect(log.warn).toHaveBeenCalledWith(
      { err: down, errorExecutionId: 'e-1' },
      'error workflow enqueue failed',
    );
  });
});
