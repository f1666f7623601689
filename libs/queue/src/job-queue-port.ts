import type { EngineMetrics, JobQueuePort, StalledJob } from '@linkflow/engine';
import { isLiveJobState, type ExecutionQueue, type ExecutionQueues } from '@linkflow/queue';
import { BREAKER_STATE_VALUE, type ExecutorMetrics } from '@linkflow/telemetry';

/** Statuses that end an execution; a run handed over (`lost`) ends only here. */
const TERMINAL = new Set(['success', 'failed', 'cancelled']);

/**
 * The engine's measurements as the executor's Prometheus metrics. A resumed run is active
 * but not started again; a handed-over run leaves `active` without finishing (its new
 * holder finishes it); workflow names go through the capped label set.
 */
export function engineMetrics(m: ExecutorMetrics): EngineMetrics {
  return {
    executionStarted: ({ workflow, priority, resumed }) => {
      m.executionsActive.inc();
      if (!resumed) m.executionsStarted.inc({ workflow: m.workflows.label(workflow), priority });
    },
    executionFinished: (status, seconds) => {
      m.executionsActive.dec();
      if (!TERMINAL.has(status)) return;
      m.executionsFinished.inc({ status });
      m.executionDuration.observe({ status }, seconds);
    },
    cost: (usd, workflow) => {
      if (usd > 0) m.cost.inc({ workflow: m.workflows.label(workflow) }, usd);
    },
    nodeRetried: (type) => m.nodeRetries.inc({ type }),
    nodeAttempted: (type, status, seconds) => m.nodeDuration.observe({ type, status }, seconds),
    breakerChanged: (target, state) => m.breakerState.set(target, BREAKER_STATE_VALUE[state]),
    breakerTransitioned: (target, to) =>
      m.breakerTransitions.inc({ target: m.breakerTargets.label(target), to }),
    breakerEvicted: (target) => m.breakerState.remove(target),
  };
}

/** The sweeper's view of the BullMQ execution queues (the one of each execution's tag set). */
export function jobQueuePort(queues: Pick<ExecutionQueues, 'status' | 'requeue'>): JobQueuePort {
  return {
    async standing(executionId, workerTags) {
      const job = await queues.status(executionId, workerTags);
      if (isLiveJobState(job.state)) return { kind: 'live' };
      if (job.state !== 'failed') return { kind: 'none' };
      const failed = { kind: 'failed', reason: job.failedReason } as const;
      return job.finishedOn === undefined
        ? failed
        : { ...failed, failedAt: new Date(job.finishedOn) };
    },
    requeue: (request) => queues.requeue(request),
  };
}

/** A stalled job's counters from BullMQ (for the engine's dead-letter decision). */
export async function readStalledJob(
  queue: Pick<ExecutionQueue, 'getJob'>,
  jobId: string,
): Promise<StalledJob | undefined> {
  const job = await queue.getJob(jobId);
  return job && { stalledCount: job.stalledCounter, deferredFailure: job.deferredFailure };
}
