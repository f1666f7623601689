import type { BreakerOptions } from './breakers/breaker-registry.ts';
import { createEngine, type Engine, type EngineDeps, type EngineLimits } from './engine.ts';

/** The slices of a process's configuration an engine runs under (the executor's fit). */
export interface EngineConfig extends EngineLimits {
  readonly workerId: string;
  /** Thresholds of every circuit breaker. */
  readonly breaker: BreakerOptions;
  /** The sweeper's pass interval. */
  readonly reconcileIntervalMs: number;
  /** A pending execution this old with no live job is enqueued again by the sweeper. */
  readonly reconcileAfterMs: number;
  readonly retentionDays: number;
  readonly retentionIntervalMs: number;
  readonly retentionDeleteExecutions: boolean;
}

/** The ports {@link createEngineFromConfig} wires; sweeping and retention always run. */
export type EnginePorts = Omit<
  EngineDeps,
  'workerId' | 'limits' | 'breakerOptions' | 'sweep' | 'retention'
> & {
  readonly sweep: Omit<NonNullable<EngineDeps['sweep']>, 'options'>;
  readonly retention: Omit<NonNullable<EngineDeps['retention']>, 'options'>;
};

/** Executions retention deletes per batch (one short transaction each), and batches per pass. */
const RETENTION_BATCH = { batchSize: 100, maxBatches: 100 } as const;

/**
 * An engine over `ports` with the limits, breaker thresholds, sweeper pace and retention
 * settings of `config`.
 */
export function createEngineFromConfig(config: EngineConfig, ports: EnginePorts): Engine {
  return createEngine({
    ...ports,
    workerId: config.workerId,
    limits: config,
    breakerOptions: config.breaker,
    sweep: {
      ...ports.sweep,
      options: { intervalMs: config.reconcileIntervalMs, pendingGraceMs: config.reconcileAfterMs },
    },
    retention: {
      ...ports.retention,
      options: {
        ...RETENTION_BATCH,
        days: config.retentionDays,
        intervalMs: config.retentionIntervalMs,
        deleteExecutions: config.retentionDeleteExecutions,
      },
    },
  });
}

/**
 * How long a fleet lock's holder (sweeper, retention) may stay silent before another process
 * takes the task over: three missed passes, and at least 30 s.
 */
export function fleetLockStaleAfterMs(intervalMs: number): number {
  return Math.max(3 * intervalMs, 30_000);
}
