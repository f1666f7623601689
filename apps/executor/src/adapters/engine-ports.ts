import type { EngineMetrics, JobQueuePort, StalledJob } from '@linkflow/engine';
import { isLiveJobState, type ExecutionQueue, type ExecutionQueues } from '@linkflow/queue';
import { BREAKER_STATE_VALUE, type ExecutorMetrics } from '@linkflow/telemetry';

/** The engine's measurements as the executor's Prometheus metrics. */
export function engineMetrics(m: ExecutorMetrics): EngineMetrics {
  return {
    executionStarted: (priority) => {
      m.executionsActive.inc();
      m.executionsStarted.inc({ priority });
    },
    executionFinished: (status, seconds) => {
      m.executionsActive.dec();
      m.executionsFinished.inc({ status });
      m.executionDuration.observe({ status }, seconds);
    },
    cost: (usd) => m.costUsd.inc(usd),
    nodeRetried: (type) => m.nodeRetries.inc({ type }),
    nodeAttempted: (type, status, seconds) => m.nodeDuration.observe({ type, status }, seconds),
    breakerChanged: (target, state) => m.breakerState.set(target, BREAKER_STATE_VALUE[state]),
    breakerEvicted: (target) => m.breakerState.remove(target),
  };
}

/** The sweeper's view of the BullMQ execution queues (the one of each execution's tag set). */
export function jobQueuePort(queues: Pick<ExecutionQueues, 'status' | 'requeue'>): JobQueuePort {
  return {
    async standing(executionId, workerTags) {
      const job = await queues.status(executionId, workerTags);
      if (isLiveJobState(job.state)) return { kind: 'live' };
      return job.state === 'failed'
        ? { kind: 'failed', reason: job.failedReason }
        : { kind: 'none' };
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
