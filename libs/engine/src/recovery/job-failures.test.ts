import { describe, expect, it, vi } from 'vitest';
import { createRecordingLogger } from '../testing/recording-logger.ts';
import {
  deadLetterIfSpent,
  deadLetterIfStalledOut,
  type JobFailure,
  type JobFailureDeps,
  type StalledJob,
} from './job-failures.ts';

function depsWith(stalled?: StalledJob | Error) {
  const reliably = vi.fn(() => Promise.resolve());
  const log = createRecordingLogger();
  const deps: JobFailureDeps = {
    deadLetterer: { reliably },
    log,
    maxStalledCount: 2,
    readStalled: () =>
      stalled instanceof Error ? Promise.reject(stalled) : Promise.resolve(stalled),
  };
  return { deps, reliably, log };
}

const failure = (over: Partial<JobFailure> = {}): JobFailure => ({
  jobId: 'e1',
  error: new TypeError('database gone'),
  unrecoverable: false,
  attemptsMade: 1,
  maxAttempts: 3,
  stalledCount: 0,
  ...over,
});

describe('deadLetterIfSpent', () => {
  it.each([
    ['unrecoverable', { unrecoverable: true }],
    ['out of attempts', { attemptsMade: 3 }],
    ['stalled past the limit', { stalledCount: 3 }],
  ])('dead-letters a job that is %s', (_name, over) => {
    const { deps, reliably } = depsWith();
    deadLetterIfSpent(failure(over), deps);
    expect(reliably).toHaveBeenCalledWith('e1', 'database gone');
  });

  it('leaves a job with attempts left to the queue, logging that it retries', () => {
    const { deps, reliably, log } = depsWith();
    deadLetterIfSpent(failure({ stalledCount: 2 }), deps);
    expect(reliably).not.toHaveBeenCalled();
    expect(log.lines.map((l) => l.message)).toEqual(['job failed; BullMQ will retry']);
  });
});

describe('deadLetterIfStalledOut', () => {
  it('dead-letters a job stalled past the limit with the failure the queue holds back', async () => {
    const { deps, reliably } = depsWith({ stalledCount: 3, deferredFailure: 'stalled out' });
    await deadLetterIfStalledOut('e1', deps);
    expect(reliably).toHaveBeenCalledWith(
      'e1',
      'stalled out (stalled 3 times: its executor crashed or lost the job lock)',
    );
  });

  it('leaves a job under the limit, or gone, to another worker', async () => {
    for (const stalled of [{ stalledCount: 2, deferredFailure: undefined }, undefined]) {
      const { deps, reliably, log } = depsWith(stalled);
      await deadLetterIfStalledOut('e1', deps);
      expect(reliably).not.toHaveBeenCalled();
      expect(log.lines.map((l) => l.message)).toEqual(['job stalled; another worker takes it']);
    }
  });

  it('logs and swallows a queue that cannot be read (the sweeper catches up)', async () => {
    const { deps, reliably, log } = depsWith(new TypeError('redis down'));
    await expect(deadLetterIfStalledOut('e1', deps)).resolves.toBeUndefined();
    expect(reliably).not.toHaveBeenCalled();
    expect(log.lines.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'could not inspect a stalled job'],
    ]);
  });
});
