import type { Gauge } from 'prom-client';
import { PRIORITIES, type DeadLetterQueue, type ExecutionQueue } from '@linkflow/queue';
import type { Logger } from '@linkflow/telemetry';

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/**
 * Samples queue depth (by state, and waiting by priority) and the DLQ size into the
 * Prometheus gauges every `intervalMs`. Each executor reports the same shared queue;
 * dashboards take the max across processes.
 */
export function startQueueSampler(
  deps: {
    queue: Pick<ExecutionQueue, 'name' | 'queue'>;
    dlq: Pick<DeadLetterQueue, 'size'>;
    depth: Gauge<'queue' | 'state' | 'priority'>;
    dlqSize: Gauge;
    log: Logger;
  },
  intervalMs = 5000,
): () => void {
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
    sample().catch((err: unknown) => deps.log.debug({ err }, 'queue sample failed'));
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
