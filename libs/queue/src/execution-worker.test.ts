import { describe, expect, it, vi } from 'vitest';
import { runWorkerLoop } from './execution-worker.ts';

describe('runWorkerLoop', () => {
  it('logs a failed fetch loop, reports it not running and calls onFailed', async () => {
    const error = vi.fn();
    const log = { error };
    const boom = new TypeError('blocking connection closed');
    const onFailed = vi.fn();
    // ACT
    const loop = runWorkerLoop({ run: () => Promise.reject(boom) }, { log, onFailed });
    // ASSERT
    expect(loop.running).toBe(true);
    await vi.waitFor(() => expect(onFailed).toHaveBeenCalledWith(boom));
    expect(loop.running).toBe(false);
    expect(error).toHaveBeenCalledWith({ err: boom }, 'worker loop failed; no more jobs are taken');
  });
});
