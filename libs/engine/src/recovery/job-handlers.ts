import type { Engine } from '../engine.ts';
import type { EngineLogger } from '../ports.ts';
import type { RunTable } from '../run/run-handle.ts';
import type { DeadLetterer } from './dead-letter.ts';
import {
  deadLetterIfSpent,
  deadLetterIfStalledOut,
  type JobFailure,
  type StalledJob,
} from './job-failures.ts';

/**
 * What the engine does with the queue's job events (the shape `libs/queue`'s consumers call
 * back into; job id = execution id).
 */
export interface EngineJobHandlers {
  /** Runs the execution; resolves to the hand-over kind when it stopped without a final status. */
  process: Engine['process'];
  /** Dead-letters a job whose failure is final (see {@link deadLetterIfSpent}). */
  onFailed(failure: JobFailure): void;
  /** Dead-letters a job that stalled too often (see {@link deadLetterIfStalledOut}). */
  onStalled(jobId: string, readStalled: (jobId: string) => Promise<StalledJob | undefined>): void;
  /** Stops the runs whose job locks were lost: their jobs' new holders continue them. */
  onLockLost(jobIds: readonly string[]): void;
}

/** The engine's side of a queue consumer. */
export function engineJobHandlers(
  engine: {
    readonly process: Engine['process'];
    readonly runs: Pick<RunTable, 'stop'>;
    readonly deadLetterer: Pick<DeadLetterer, 'reliably'>;
  },
  options: { readonly log: EngineLogger; readonly maxStalledCount: number },
): EngineJobHandlers {
  const { log } = options;
  const failures = { ...options, deadLetterer: engine.deadLetterer };
  return {
    process: (executionId) => engine.process(executionId),
    onFailed: (failure) => deadLetterIfSpent(failure, failures),
    onStalled: (jobId, readStalled) =>
      void deadLetterIfStalledOut(jobId, { ...failures, readStalled }),
    onLockLost: (jobIds) => {
      for (const id of jobIds)
        if (engine.runs.stop(id, 'lease_lost'))
          log.warn({ executionId: id }, 'job lock lost; stopping the run for its new holder');
    },
  };
}
