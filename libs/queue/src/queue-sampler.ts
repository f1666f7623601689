import type { DeadLetterQueue } from './dead-letter-queue.ts';
import type { ExecutionQueue } from './execution-queue.ts';
import { PRIORITIES } from './job-catalog.ts';

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** What {@link startQueueSampler} reports to (prom-client gauges fit). */
export interface QueueSamplerDeps {
  readonly queue: Pick<ExecutionQueue, 'name' | 'queue'>;
  readonly dlq: Pick<DeadLetterQueue, 'size'>;
  /** Jobs by queue, state and priority (`all`, or a priority name for waiting jobs). */
  readonly depth: {
    set(labels: { queue: string; state: string; priority: string }, value: number): void;
  };
  readonly dlqSize: { set(value: number): void };
  /** Receives a failed sample (the next one is tried all the same). */
  readonly onError: (err: unknown) => void;
}

/**
 * Samples queue depth (by state, and waiting by priority) and the DLQ size into the
 * gauges every `intervalMs`. Each executor reports the same shared queue; dashboards take
 * the max across processes. Returns a function that stops sampling.
 */
export function startQueueSampler(deps: QueueSamplerDeps, intervalMs = 5000): () => void {
  const sample = async () => {
    const counts = await deps.queue.queue.getJobCounts(...STATES, 'prioritized');
    const byPriority = await deps.queue.queue.getCountsPerPriority(Object.values(PRIORITIES));
    for (const state of STATES) {
      const value = (counts[state] ?? 0) + (state === 'waiting' ? (counts['prioritized'] ?? 0) : 0);
      deps.depth.set({ queue: deps.queue.name, state, priority: 'all' }, value);
    }
    for (const [name, number] of Object.entries(PRIORITIES)) {
      deps.depth.set(
        { queue: deps.queue.name, state: 'waiting', priority: name },
        byPriority[String(number)] ?? 0,
      );
    }
    deps.dlqSize.set(await deps.dlq.size());
  };
  const tick = () => {
    sample().catch(deps.onError);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
