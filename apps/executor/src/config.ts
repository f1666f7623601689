import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  ConfigError,
  loadEnvConfig,
  parseSharedConfig,
  type Env,
  type RateCard,
  type SharedConfig,
} from '@linkflow/domain';
import { DEFAULT_BREAKER_OPTIONS as BREAKER, type BreakerOptions } from '@linkflow/engine';

export { ConfigError };

/** The executor's configuration, parsed once at start-up and frozen. */
export interface ExecutorConfig extends SharedConfig {
  /** Executions taken at once, and node runs in flight at once, in this process. */
  readonly concurrency: number;
  /** Node slots one tenant may hold at once; undefined: half of `concurrency`, at least 1. */
  readonly slotsPerTenant: number | undefined;
  readonly metricsPort: number;
  /** Interface of the unauthenticated metrics/health server (loopback unless chosen). */
  readonly metricsHost: string;
  /** Workflow names with their own `workflow` series; the rest count as `other`. */
  readonly metricsMaxWorkflows: number;
  /** Breaker targets with their own `target` series; the rest share `other`. */
  readonly metricsMaxTargets: number;
  readonly workerId: string;
  readonly codePoolSize: number;
  /** Code sandboxes one tenant may hold at once; undefined: half the pool, at least 1. */
  readonly codeMaxPerTenant: number | undefined;
  readonly maxOutputBytes: number;
  /** Ceiling on one expression or template evaluation, whatever the node's timeout. */
  readonly expressionTimeoutMs: number;
  /** A successful execution whose output (its sinks' outputs) is larger fails instead. */
  readonly maxExecutionOutputBytes: number;
  /** Node outputs one run may hold in memory; undefined: 4 x `maxExecutionOutputBytes`. */
  readonly maxRetainedOutputBytes: number | undefined;
  /** BullMQ job lock; a crashed worker's job is taken over after about lock + stalled interval. */
  readonly lockMs: number;
  readonly stalledIntervalMs: number;
  /** A job that stalled more often than this is dead-lettered (its execution fails). */
  readonly maxStalledCount: number;
  /** Postgres lease of a claimed execution, renewed every third of it while it runs. */
  readonly leaseMs: number;
  readonly shutdownGraceMs: number;
  readonly reconcileIntervalMs: number;
  /** A pending execution this old with no live job is enqueued again by the sweeper. */
  readonly reconcileAfterMs: number;
  /** Worker tags this executor carries (EXECUTOR_TAGS): it also takes executions requiring them. */
  readonly tags: readonly string[];
  /** How often it heartbeats into the worker registry (and looks for new tag sets). */
  readonly heartbeatMs: number;
  /** A normal or low job waiting this long jumps to the front of the high priority. */
  readonly priorityAgingMs: number;
  /** Node runs and logs of terminal executions older than this many days are deleted. */
  readonly retentionDays: number;
  readonly retentionIntervalMs: number;
  /** Retention deletes the executions themselves too (default: keeps their summary). */
  readonly retentionDeleteExecutions: boolean;
  /** Thresholds of every circuit breaker (LINKFLOW_BREAKER_*). */
  readonly breaker: BreakerOptions;
  /** Prices that turn node usage into cost (LINKFLOW_RATE_CARD over the defaults in code). */
  readonly rateCard: RateCard;
  /**
   * LINKFLOW_BENCH_SKIP_CHECKPOINTS=1, for the benchmark only: nodes are not checkpointed
   * one by one (a crash loses the run's progress); the final status write still happens.
   */
  readonly benchSkipCheckpoints: boolean;
}

/**
 * Parses the executor's environment; every issue is reported at once.
 * @throws ConfigError
 */
export function loadConfig(env: Env): ExecutorConfig {
  return loadEnvConfig(
    env,
    (path) => readFileSync(path, 'utf8'),
    (p): ExecutorConfig => ({
      ...parseSharedConfig(p),
      concurrency: p.int('EXECUTOR_CONCURRENCY', 32, 1, 1000),
      slotsPerTenant:
        p.read('EXECUTOR_SLOTS_PER_TENANT') === undefined
          ? undefined
          : p.int('EXECUTOR_SLOTS_PER_TENANT', 1, 1, 1000),
      metricsPort: p.int('EXECUTOR_METRICS_PORT', 9464, 0, 65535),
      metricsHost: p.str('EXECUTOR_METRICS_HOST', '127.0.0.1'),
      metricsMaxWorkflows: p.int('LINKFLOW_METRICS_MAX_WORKFLOWS', 50, 1, 10_000),
      metricsMaxTargets: p.int('LINKFLOW_METRICS_MAX_TARGETS', 50, 1, 10_000),
      workerId: p.str('EXECUTOR_ID', `${hostname()}:${process.pid}`),
      codePoolSize: p.int('EXECUTOR_CODE_WORKERS', 2, 1, 64),
      codeMaxPerTenant:
        p.read('EXECUTOR_CODE_MAX_PER_TENANT') === undefined
          ? undefined
          : p.int('EXECUTOR_CODE_MAX_PER_TENANT', 1, 1, 64),
      maxOutputBytes: p.int('LINKFLOW_MAX_OUTPUT_BYTES', 10 * 1024 * 1024, 1024, 512 * 1024 * 1024),
      expressionTimeoutMs: p.int('LINKFLOW_EXPRESSION_TIMEOUT_MS', 1000, 10, 60_000),
      maxExecutionOutputBytes: p.int(
        'LINKFLOW_MAX_EXECUTION_OUTPUT_BYTES',
        10 * 1024 * 1024,
        1024,
        512 * 1024 * 1024,
      ),
      maxRetainedOutputBytes:
        p.read('LINKFLOW_MAX_RETAINED_OUTPUT_BYTES') === undefined
          ? undefined
          : p.int('LINKFLOW_MAX_RETAINED_OUTPUT_BYTES', 1024, 1024, 4 * 1024 * 1024 * 1024),
      lockMs: p.int('EXECUTOR_LOCK_MS', 30_000, 500, 600_000),
      stalledIntervalMs: p.int('EXECUTOR_STALLED_INTERVAL_MS', 30_000, 500, 600_000),
      maxStalledCount: p.int('EXECUTOR_MAX_STALLED_COUNT', 2, 0, 100),
      leaseMs: p.int('EXECUTOR_LEASE_MS', 30_000, 300, 600_000),
      shutdownGraceMs: p.int('EXECUTOR_SHUTDOWN_GRACE_MS', 25_000, 0, 600_000),
      reconcileIntervalMs: p.int('EXECUTOR_RECONCILE_INTERVAL_MS', 10_000, 100, 86_400_000),
      reconcileAfterMs: p.int('EXECUTOR_RECONCILE_AFTER_MS', 5_000, 0, 86_400_000),
      tags: p.tags('EXECUTOR_TAGS'),
      heartbeatMs: p.int('EXECUTOR_HEARTBEAT_MS', 5_000, 100, 600_000),
      priorityAgingMs: p.int('EXECUTOR_PRIORITY_AGING_MS', 60_000, 100, 86_400_000),
      retentionDays: p.int('LINKFLOW_RETENTION_DAYS', 30, 1, 36_500),
      retentionIntervalMs: p.int('LINKFLOW_RETENTION_INTERVAL_MS', 3_600_000, 1_000, 86_400_000),
      retentionDeleteExecutions: p.flag('LINKFLOW_RETENTION_DELETE_EXECUTIONS'),
      rateCard: p.rateCard('LINKFLOW_RATE_CARD'),
      benchSkipCheckpoints: p.flag('LINKFLOW_BENCH_SKIP_CHECKPOINTS'),
      breaker: {
        errorThresholdPercentage: p.int(
          'LINKFLOW_BREAKER_ERROR_PERCENT',
          BREAKER.errorThresholdPercentage,
          1,
          100,
        ),
        volumeThreshold: p.int('LINKFLOW_BREAKER_VOLUME', BREAKER.volumeThreshold, 1, 1_000_000),
        resetTimeoutMs: p.int('LINKFLOW_BREAKER_RESET_MS', BREAKER.resetTimeoutMs, 10, 86_400_000),
        rollingCountTimeoutMs: p.int(
          'LINKFLOW_BREAKER_WINDOW_MS',
          BREAKER.rollingCountTimeoutMs,
          100,
          86_400_000,
        ),
        timeoutMs: p.int('LINKFLOW_BREAKER_TIMEOUT_MS', BREAKER.timeoutMs, 0, 86_400_000),
      },
    }),
  );
}
