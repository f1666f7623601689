import type { Clock, LiveSecrets, RateCard } from '@linkflow/domain';
import type { NodeRegistry } from '@linkflow/nodes';
import { settledWithin } from './run/abortable.ts';
import {
  BreakerRegistry,
  type BreakerOptions,
  type BreakerState,
} from './breakers/breaker-registry.ts';
import type {
  CredentialPort,
  DeadLetterSink,
  EngineLogger,
  JobQueuePort,
  LeasePort,
  RunStorePort,
  RetentionPort,
  SweepLock,
  TracingPort,
} from './ports.ts';
import { createDeadLetterer, type DeadLetterer } from './recovery/dead-letter.ts';
import { startLeaseKeeper } from './recovery/lease-keeper.ts';
import { startRetention, type RetentionOptions } from './recovery/retention.ts';
import { startSweeper, type SweeperOptions } from './recovery/sweeper.ts';
import {
  CompiledWorkflowCache,
  processExecution,
  type HandOver,
  type ProcessorDeps,
} from './run/execution-processor.ts';
import type { RunEvents } from './run/run-events.ts';
import { RunTable } from './run/run-handle.ts';
import { defaultSlotsPerTenant, FairSlots } from './run/fair-slots.ts';
import { RETAINED_OUTPUT_FACTOR } from './run/output-cap.ts';
import type { ChildExecutionPort } from './run/subworkflow-port.ts';

/** A run that began in this process: `workflow` is the pinned definition's name. */
export interface RunStarted {
  readonly workflow: string;
  readonly priority: string;
  /** True when it continues an earlier attempt (crash, hand-over), not a first start. */
  readonly resumed: boolean;
}

/** What the engine measures; the executor wires it to Prometheus. */
export interface EngineMetrics {
  executionStarted(run: RunStarted): void;
  /**
   * The run stopped: `success`, `failed` or `cancelled`, or `lost` when it was handed over
   * without a final status (another worker continues it).
   */
  executionFinished(status: string, seconds: number): void;
  /** A settled node run's cost in USD, under its workflow's name. */
  cost(usd: number, workflow: string): void;
  nodeRetried(type: string): void;
  nodeAttempted(type: string, status: 'success' | 'failed', seconds: number): void;
  /**
   * A target's state now: the worst over its breakers (one per tenant), after one was made,
   * changed state or was evicted with others left.
   */
  breakerChanged(target: string, state: BreakerState): void;
  /** One of the target's breakers (any tenant's) changed state (not called when one is made). */
  breakerTransitioned?(target: string, to: BreakerState): void;
  /** The target's last breaker was evicted. */
  breakerEvicted(target: string): void;
}

/** The limits one engine runs under (from the executor's configuration). */
export interface EngineLimits {
  /** Node runs in flight at once in this process (node types with their own pool aside). */
  readonly concurrency: number;
  /** Node slots one tenant may hold at once; undefined: half of `concurrency`, at least 1. */
  readonly slotsPerTenant?: number | undefined;
  /** Lease of a claimed execution; renewed every third of it while the run lasts. */
  readonly leaseMs: number;
  readonly maxOutputBytes: number;
  readonly maxExecutionOutputBytes: number;
  /** Node outputs one run may hold in memory; undefined: 4 x `maxExecutionOutputBytes`. */
  readonly maxRetainedOutputBytes?: number | undefined;
  /** Ceiling on one expression or template evaluation. */
  readonly expressionTimeoutMs: number;
  /** Prices of node usage; the defaults in code when absent. */
  readonly rateCard?: RateCard | undefined;
  /** Bench only (LINKFLOW_BENCH_SKIP_CHECKPOINTS): no per-node checkpoint writes. */
  readonly benchSkipCheckpoints?: boolean | undefined;
}

/** The ports and settings {@link createEngine} builds an engine from. */
export interface EngineDeps {
  readonly runStore: RunStorePort;
  readonly leases: LeasePort;
  readonly registry: NodeRegistry;
  readonly events: RunEvents;
  readonly dlq: DeadLetterSink;
  readonly clock: Clock;
  readonly log: EngineLogger;
  readonly workerId: string;
  readonly limits: EngineLimits;
  readonly metrics?: EngineMetrics;
  /** Jitter source for retry backoff (tests pass a fixed one). */
  readonly random?: () => number;
  /** Spans per execution run and node attempt; none when absent. */
  readonly tracing?: TracingPort;
  /**
   * Secret strings the process knows (connection passwords): redacted wherever they would
   * reach node logs, outputs or errors, on top of each node config's own secrets.
   */
  readonly secretValues?: readonly string[];
  /** Credentials for `{{ secrets.<name>.<key> }}` in http/db configs; none: such nodes fail. */
  readonly credentials?: CredentialPort;
  /** Credential values held while their nodes run (the logger and tracing redact them). */
  readonly liveSecrets?: LiveSecrets;
  /** Thresholds of every breaker (default: the registry's defaults). */
  readonly breakerOptions?: BreakerOptions;
  /** Called after a breaker was made, changed state or was evicted (the state publisher). */
  readonly onBreakerChange?: () => void;
  /** The sweeper's queue, fleet lock and pace; without it this engine does not sweep. */
  readonly sweep?: {
    readonly queue: JobQueuePort;
    readonly lock: SweepLock;
    readonly options: SweeperOptions;
  };
  /** Child executions of `subworkflow` nodes; without it those nodes fail (EXECUTION). */
  readonly children?: ChildExecutionPort;
  /** Retention's store, fleet lock and settings; without it this engine deletes nothing. */
  readonly retention?: {
    readonly store: RetentionPort;
    readonly lock: SweepLock;
    readonly options: RetentionOptions;
  };
}

/**
 * One process's engine: runs executions, renews their leases, dead-letters spent jobs and
 * (with `sweep`) hands on executions nobody holds.
 */
export interface Engine {
  /**
   * Runs one execution (see {@link processExecution}); resolves to the hand-over kind when
   * the run stopped without a final status, so the caller can give its job back.
   */
  process(executionId: string): Promise<HandOver | undefined>;
  /** The runs in flight, for control signals and lost job locks. */
  readonly runs: RunTable;
  readonly deadLetterer: DeadLetterer;
  readonly breakers: BreakerRegistry;
  /**
   * Shutdown, first half: stops sweeping, then calls `closeConsumer` (the queue consumer
   * stops taking jobs and resolves once its running ones are done) and waits up to
   * `graceMs`; runs still going are then stopped as `shutdown` (no final status, they
   * resume elsewhere) and get a short while to record their hand-over.
   */
  drain(closeConsumer: () => Promise<unknown>, graceMs: number): Promise<void>;
  /** Shutdown, second half: stops lease renewal, dead-letter retries and the breakers. */
  close(): void;
}

/** How long interrupted runs get to record their hand-over before connections close. */
const HAND_OVER_MS = 5_000;

function processorDeps(deps: EngineDeps, runs: RunTable, breakers: BreakerRegistry) {
  const { metrics, limits, clock } = deps;
  const processor: ProcessorDeps = {
    runStore: deps.runStore,
    leases: deps.leases,
    registry: deps.registry,
    runs,
    clock,
    workerId: deps.workerId,
    log: deps.log,
    maxExecutionOutputBytes: limits.maxExecutionOutputBytes,
    ...(limits.benchSkipCheckpoints === true && { skipCheckpoints: true }),
    events: deps.events,
    ...(deps.tracing && { tracing: deps.tracing }),
    ...(deps.sweep && { queue: deps.sweep.queue }),
    ...(deps.children && { children: deps.children }),
    nodes: {
      registry: deps.registry,
      log: deps.log,
      ...(deps.tracing && { tracing: deps.tracing }),
      ...(deps.secretValues && { secretValues: deps.secretValues }),
      ...(deps.credentials && { credentials: deps.credentials }),
      ...(deps.liveSecrets && { liveSecrets: deps.liveSecrets }),
      breakers,
      slots: new FairSlots({
        size: limits.concurrency,
        perTenant: limits.slotsPerTenant ?? defaultSlotsPerTenant(limits.concurrency),
      }),
      clock,
      random: deps.random ?? Math.random,
      maxOutputBytes: limits.maxOutputBytes,
      maxRetainedOutputBytes:
        limits.maxRetainedOutputBytes ?? RETAINED_OUTPUT_FACTOR * limits.maxExecutionOutputBytes,
      expressionTimeoutMs: limits.expressionTimeoutMs,
      rateCard: limits.rateCard,
      ...(metrics && {
        onRetry: (type) => metrics.nodeRetried(type),
        onAttempt: (type, status, seconds) => metrics.nodeAttempted(type, status, seconds),
      }),
    },
    ...(metrics && {
      observe: {
        started: (run) => metrics.executionStarted(run),
        finished: (status, seconds) => metrics.executionFinished(status, seconds),
        cost: (usd, workflow) => metrics.cost(usd, workflow),
      },
    }),
  };
  return processor;
}

/** Builds an engine over its ports and starts renewing the leases of the runs it holds. */
export function createEngine(deps: EngineDeps): Engine {
  const { log, metrics } = deps;
  const runs = new RunTable();
  const changed = () => deps.onBreakerChange?.();
  // Breakers are per tenant and target; metrics stay per target (bounded cardinality): the
  // gauge shows the worst state over the target's tenant breakers, gone with the last one.
  const showTarget = (target: string) => {
    const state = breakers.targetState(target);
    if (state === undefined) metrics?.breakerEvicted(target);
    else metrics?.breakerChanged(target, state);
    changed();
  };
  const breakers: BreakerRegistry = new BreakerRegistry(deps.breakerOptions, {
    onCreate: ({ target }) => showTarget(target),
    onStateChange: ({ target }, state) => {
      metrics?.breakerTransitioned?.(target, state);
      showTarget(target);
    },
    onEvict: ({ target }) => showTarget(target),
    now: () => deps.clock.now().getTime(),
  });
  const processor = processorDeps(deps, runs, breakers);
  const cache = new CompiledWorkflowCache();
  const stopping = new AbortController();
  const deadLetterer = createDeadLetterer({
    dlq: deps.dlq,
    runStore: deps.runStore,
    events: deps.events,
    clock: deps.clock,
    log,
    signal: stopping.signal,
  });
  const stopLeaseKeeper = startLeaseKeeper({ leases: deps.leases, runs, log }, deps.limits.leaseMs);
  const { sweep } = deps;
  const stopSweeper = sweep
    ? startSweeper(
        {
          ...sweep,
          leases: deps.leases,
          deadLetterer,
          log,
          ...(deps.children && { children: { port: deps.children, clock: deps.clock } }),
        },
        sweep.options,
      )
    : () => Promise.resolve();
  const { retention } = deps;
  const stopRetention = retention
    ? startRetention({ ...retention, clock: deps.clock, log }, retention.options)
    : () => Promise.resolve();
  return {
    process: (executionId) => processExecution(processor, executionId, cache),
    runs,
    deadLetterer,
    breakers,
    async drain(closeConsumer, graceMs) {
      await Promise.all([stopSweeper(), stopRetention()]);
      const closing = closeConsumer();
      if (await settledWithin(closing, graceMs)) return;
      log.warn(
        { graceMs, running: runs.size },
        'grace period over; interrupting running executions, which resume elsewhere',
      );
      runs.stopAll('shutdown');
      if (!(await settledWithin(closing, HAND_OVER_MS)))
        log.warn('runs did not stop in time; their jobs are recovered as stalled');
    },
    close() {
      stopLeaseKeeper();
      stopping.abort();
      breakers.shutdown();
    },
  };
}
