import { BREAKER_STATE_VALUE, type ExecutorMetrics } from './metrics.ts';

/** A breaker state as the metrics record it. */
type BreakerStateName = keyof typeof BREAKER_STATE_VALUE;

/**
 * What an execution engine reports, as Prometheus metrics (the engine's `EngineMetrics`;
 * declared here so telemetry needs no engine types).
 */
export interface RunMetrics {
  executionStarted(run: { workflow: string; priority: string; resumed: boolean }): void;
  executionFinished(status: string, seconds: number): void;
  cost(usd: number, workflow: string): void;
  nodeRetried(type: string): void;
  nodeAttempted(type: string, status: 'success' | 'failed', seconds: number): void;
  breakerChanged(target: string, state: BreakerStateName): void;
  breakerTransitioned(target: string, to: BreakerStateName): void;
  breakerEvicted(target: string): void;
}

/** Statuses that end an execution; a run handed over (`lost`) ends only here. */
const TERMINAL = new Set(['success', 'failed', 'cancelled']);

/**
 * The engine's measurements as the executor's Prometheus metrics. A resumed run is active
 * but not started again; a handed-over run leaves `active` without finishing (its new
 * holder finishes it); workflow names go through the capped label set.
 */
export function runMetrics(m: ExecutorMetrics): RunMetrics {
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
