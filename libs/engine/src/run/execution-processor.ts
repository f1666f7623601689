import {
  type ClaimedExecution,
  type NewLogEntry,
  type Clock,
  type CompiledWorkflow,
  redactText,
  truncateRunError,
  type RunError,
} from '@linkflow/domain';
import type { NodeRegistry } from '@linkflow/nodes';
import type {
  EngineLogger,
  JobQueuePort,
  LeasePort,
  RunStorePort,
  SpanOutcome,
  TracingPort,
} from '../ports.ts';
import { Checkpointer, type DeferredNode } from './checkpointer.ts';
import { CompiledWorkflowCache } from './compiled-workflow-cache.ts';
import { enqueueErrorWorkflow } from './error-workflow.ts';
import { runDag } from './dag-runner.ts';
import { withDbRetry } from './db-retry.ts';
import type { NodeRunnerDeps } from './node-runner.ts';
import {
  capExecutionOutput,
  DEFAULT_MAX_EXECUTION_OUTPUT_BYTES as DEFAULT_MAX_OUTPUT,
} from './output-cap.ts';
import type { RunEvents } from './run-events.ts';
import { familyLinks, runUntilParked, settleFamily, type RunEnd } from './subworkflow-family.ts';
import type { ChildExecutionPort } from './subworkflow-port.ts';
import { familyOf, subworkflowRunner } from './subworkflow-wiring.ts';
import { checkpointedCost, resumeStates } from './resume-states.ts';
import { NO_ITERATION } from './scope-runtime.ts';
import { isHandOver, RunHandle, type RunTable, type StopKind } from './run-handle.ts';

/** What {@link processExecution} runs on: the ports, the node registry and this process's runs. */
export interface ProcessorDeps {
  readonly runStore: RunStorePort;
  /** Releases the lease of a run handed over (shutdown, lost lock) so it moves on at once. */
  readonly leases: Pick<LeasePort, 'release'>;
  readonly registry: NodeRegistry;
  readonly nodes: NodeRunnerDeps;
  readonly events: RunEvents;
  readonly runs: RunTable;
  readonly clock: Clock;
  readonly workerId: string;
  readonly log: EngineLogger;
  /** LINKFLOW_MAX_EXECUTION_OUTPUT_BYTES: a larger output fails the execution (EXECUTION). */
  readonly maxExecutionOutputBytes?: number;
  readonly observe?: {
    started(run: { workflow: string; priority: string; resumed: boolean }): void;
    finished(status: string, seconds: number): void;
    cost(usd: number, workflow: string): void;
  };
  /** A span per execution run, the parent of its node attempts' spans. */
  readonly tracing?: TracingPort;
  /** Enqueues the error workflow a failure started (else the sweeper does, after its grace). */
  readonly queue?: Pick<JobQueuePort, 'requeue'>;
  /** Child executions of `subworkflow` nodes; without it those nodes fail (EXECUTION). */
  readonly children?: ChildExecutionPort;
  /** Bench only (LINKFLOW_BENCH_SKIP_CHECKPOINTS): no per-node checkpoint writes. */
  readonly skipCheckpoints?: boolean;
}

export { CompiledWorkflowCache };

function timeoutMsOf(claim: ClaimedExecution, workflow: CompiledWorkflow): number | undefined {
  return claim.timeoutSeconds !== null ? claim.timeoutSeconds * 1000 : workflow.settings.timeout_ms;
}

/** How a run handed its execution over instead of finishing it (see {@link isHandOver}). */
export type HandOver = Extract<StopKind, 'lease_lost' | 'shutdown'>;

/**
 * Processes one execution job. Idempotent (delivery is at least once): a terminal
 * execution is left alone; a running one (its worker died) resumes from its
 * checkpoints and finished nodes do not run again. Resolves to the hand-over kind when
 * the run stopped without a final status (another worker continues it), else undefined.
 * The run is traced as one span (the active context's child: the trace the job carried)
 * whose node attempts are its children.
 */
export async function processExecution(
  deps: ProcessorDeps,
  executionId: string,
  cache: CompiledWorkflowCache,
): Promise<HandOver | undefined> {
  const claim = await withDbRetry(() => deps.runStore.claim(executionId, deps.clock.now()), {
    isTransient: deps.runStore.isTransient,
  });
  if (!claim.claimed) {
    deps.log.info({ executionId, status: claim.status }, 'execution not claimable; skipping job');
    return undefined;
  }
  const exec = claim.execution;
  const span = deps.tracing?.startExecution({
    executionId,
    tenantId: exec.tenantId,
    workflowId: exec.workflowId,
    workflowVersion: exec.workflowVersion,
    attempt: exec.fence.attempt,
    resumed: exec.previousStatus !== 'pending',
  });
  const trace: RunTrace = { outcome: { status: 'failed', errorType: 'UNKNOWN' }, costUsd: 0 };
  const run = () => runClaimed(deps, { exec, cache, trace });
  try {
    return await (span === undefined ? run() : span.within(run));
  } catch (err) {
    trace.outcome = { status: 'failed', errorType: 'UNKNOWN', errorMessage: describe(err) };
    throw err;
  } finally {
    span?.end({ ...trace.outcome, costUsd: trace.costUsd });
  }
}

/** What the run's span ends with, filled in as the run goes. */
interface RunTrace {
  outcome: SpanOutcome;
  costUsd: number;
}

function describe(err: unknown): string {
  return redactText(err instanceof Error ? err.message : String(err));
}

async function runClaimed(
  deps: ProcessorDeps,
  { exec, cache, trace }: { exec: ClaimedExecution; cache: CompiledWorkflowCache; trace: RunTrace },
): Promise<HandOver | undefined> {
  const { executionId } = exec.fence;
  const log = deps.log.child({
    executionId,
    tenantId: exec.tenantId,
    workflowId: exec.workflowId,
    attempt: exec.fence.attempt,
  });
  const handle = new RunHandle();
  const workflow = cache.get(exec, deps.registry);
  const checkpointer = new Checkpointer(
    {
      runStore: deps.runStore,
      events: deps.events,
      onDbRetry: (err) => log.warn({ err }, 'checkpoint write failed; retrying'),
      onMarkFailed: (err) => log.debug({ err }, 'could not record a node as running'),
      skipCheckpoints: deps.skipCheckpoints === true,
    },
    exec.fence,
    handle,
    (id) => ('dag' in workflow ? (workflow.nodes.get(id)?.spec.type ?? 'unknown') : 'unknown'),
  );
  if (!('dag' in workflow)) {
    await finish(deps, { exec, checkpointer, log, trace }, { status: 'failed', error: workflow });
    return undefined;
  }
  const started = deps.clock.now();
  const workflowName = exec.definition.name;
  deps.observe?.started({
    workflow: workflowName,
    priority: exec.priority,
    resumed: exec.previousStatus !== 'pending',
  });
  if (exec.previousStatus === 'pending') deps.events.status(executionId, 'running');
  checkpointer.log({
    at: started,
    level: 'info',
    message:
      exec.previousStatus === 'pending' && !exec.recovered
        ? 'execution started'
        : `execution resumed from checkpoints (attempt ${exec.fence.attempt})`,
  });
  let armedSeconds = exec.timeoutSeconds;
  const applyTimeout = (seconds: number | null) => {
    if (seconds === armedSeconds || handle.stopKind !== undefined) return;
    armedSeconds = seconds;
    const ms = seconds !== null ? seconds * 1000 : workflow.settings.timeout_ms;
    handle.armDeadline(exec.startedAt, ms, deps.clock.now());
  };
  const reloadTimeout = async () => {
    const state = await deps.runStore.readState(executionId);
    if (state) applyTimeout(state.timeoutSeconds);
  };
  deps.runs.add({ handle, fence: exec.fence, reloadTimeout, applyTimeout });
  try {
    const timeoutMs = timeoutMsOf(exec, workflow);
    // A first start counts the timeout from creation while pending; a recovered execution
    // from its new start (also one dead-lettered before any claim: its attempt is 1 too).
    const pendingTooLong =
      exec.previousStatus === 'pending' &&
      !exec.recovered &&
      timeoutMs !== undefined &&
      exec.createdAt.getTime() + timeoutMs <= started.getTime();
    handle.armDeadline(pendingTooLong ? exec.createdAt : exec.startedAt, timeoutMs, started);
    const observeCost = (result: object) => {
      if (!('cost' in result) || typeof result.cost !== 'string') return;
      deps.observe?.cost(Number(result.cost), workflowName);
      trace.costUsd += Number(result.cost);
    };
    const resumed = resumeStates(exec);
    const states = new Map(resumed.get(NO_ITERATION));
    const dag = () =>
      runDag(deps.nodes, {
        workflow,
        states,
        resumed,
        // A run that continues after its children ended has paid for what it ran so far.
        spentUnits: checkpointedCost(exec) + BigInt(Math.round(trace.costUsd * 1e8)),
        ...subworkflowRunner(deps, { fence: exec.fence, log }),
        context: {
          input: exec.inputData,
          execution: { id: executionId, workflow_id: exec.workflowId, attempt: exec.fence.attempt },
        },
        tenantId: exec.tenantId,
        signal: handle.controller.signal,
        onStarted: (nodeId, iteration) =>
          deps.events.status(executionId, 'running', nodeId, iteration),
        onUnannounced: (nodeIds) => checkpointer.markStarted(nodeIds, deps.clock.now()),
        onAbandon: () => handle.abandon(),
        onSettled: (nodeId, result, next) => {
          observeCost(result);
          return checkpointer.settle(nodeId, result, next);
        },
        onScopedSettled: ({ nodeId, iteration, result }) => {
          observeCost(result);
          return checkpointer.settle(nodeId, result, { last: false, starting: [], iteration });
        },
      });
    const outcome = await runUntilParked(dag, {
      ...{ children: deps.children, fence: exec.fence, clock: deps.clock, states, log },
      flush: () => {
        const message = 'waiting on child executions; the run resumes when one ends';
        checkpointer.log({ at: deps.clock.now(), level: 'info', message });
        return checkpointer.flushDeferred().then(() => checkpointer.flush());
      },
    });
    if (outcome.status === 'parked') trace.outcome = { status: 'parked' };
    else await finish(deps, { exec, checkpointer, log, handle, trace }, outcome);
    deps.observe?.finished(
      outcomeStatus(outcome, handle),
      (deps.clock.now().getTime() - started.getTime()) / 1000,
    );
    const kind = handle.stopKind;
    return outcome.status === 'aborted' && isHandOver(kind) ? (kind as HandOver) : undefined;
  } finally {
    handle.clearDeadline();
    deps.runs.remove(executionId, handle);
  }
}

/**
 * Leaves a stopped run for another worker: writes what settled (fenced, so nothing when the
 * run was already taken over), no final status, and releases the lease.
 */
async function handOver(deps: ProcessorDeps, c: FinishContext, shutdown: boolean): Promise<void> {
  c.checkpointer.log({
    at: deps.clock.now(),
    level: 'warn',
    message: shutdown
      ? 'executor shutting down; in-flight nodes interrupted, the execution resumes elsewhere'
      : 'execution lost to another worker (job lock lost); in-flight nodes interrupted',
  });
  try {
    await c.checkpointer.flushDeferred();
    await c.checkpointer.flush();
    await deps.leases.release(c.exec.fence);
  } catch (err) {
    // The lease then simply expires; the stalled-job check or the sweeper moves the run on.
    c.log.warn({ err }, 'could not record the hand-over');
  }
  c.log.warn({ shutdown }, 'execution handed over without a final status');
}

function outcomeStatus(outcome: RunEnd, handle: RunHandle): string {
  if (outcome.status === 'parked') return 'waiting';
  if (outcome.status !== 'aborted') return outcome.status;
  return handle.stopKind === 'timeout'
    ? 'failed'
    : handle.stopKind === 'cancel'
      ? 'cancelled'
      : 'lost';
}

interface FinishContext {
  exec: ClaimedExecution;
  checkpointer: Checkpointer;
  log: EngineLogger;
  handle?: RunHandle;
  /** Told how the run ended, for its span. */
  trace: RunTrace;
}

async function finish(
  deps: ProcessorDeps,
  c: FinishContext,
  outcome: Exclude<RunEnd, { status: 'parked' }> | { status: 'failed'; error: RunError },
): Promise<void> {
  const id = c.exec.fence.executionId;
  const at = deps.clock.now();
  if (outcome.status === 'aborted') {
    const kind = c.handle?.stopKind;
    if (isHandOver(kind)) {
      c.trace.outcome = { status: 'handed_over' };
      return handOver(deps, c, kind === 'shutdown');
    }
    if (kind === 'cancel') {
      c.trace.outcome = { status: 'cancelled', errorType: 'CANCELLATION' };
      c.checkpointer.log({
        at,
        level: 'warn',
        message: 'execution cancelled; in-flight nodes aborted',
      });
      await c.checkpointer.flushDeferred();
      await c.checkpointer.flush();
      deps.events.status(id, 'cancelled');
      c.log.info('execution cancelled');
      return settleFamily(familyOf(deps, c.log), familyLinks(c.exec));
    }
    const message =
      outcome.reason instanceof Error ? outcome.reason.message : 'execution timed out';
    outcome = { status: 'failed', error: { type: 'TIMEOUT', message, node_id: null } };
  }
  outcome = capExecutionOutput(outcome, {
    maxBytes: deps.maxExecutionOutputBytes ?? DEFAULT_MAX_OUTPUT,
    nodeMaxBytes: deps.nodes.maxOutputBytes,
  });
  const output = outcome.status === 'success' ? outcome.output : null;
  const error = outcome.status === 'failed' ? truncateRunError(outcome.error) : null;
  c.trace.outcome = {
    status: outcome.status,
    ...(error ? { errorType: error.type, errorMessage: redactText(error.message) } : {}),
  };
  const reason =
    outcome.status === 'success'
      ? 'returned' in outcome
        ? `return node ${outcome.nodeId} ended the execution`
        : 'all nodes finished'
      : `${error?.type ?? 'UNKNOWN'}: ${error?.message ?? ''}`;
  const level = outcome.status === 'success' ? 'info' : 'error';
  const verb = outcome.status === 'success' ? 'succeeded' : 'failed';
  const verdict = { at, level, message: `execution ${verb}`, nodeId: null } as const;
  const lastNode = c.checkpointer.takeDeferred();
  const earlier = c.checkpointer.takePending();
  const logs = [...earlier, { ...verdict, ...(error ? { data: { error } } : {}) }];
  const carried = lastNode ? { lastNode: { run: lastNode.run, logs: lastNode.logs } } : {};
  const request = { status: outcome.status, output, error, at, reason, logs, ...carried };
  const written = await withDbRetry(() => deps.runStore.finish(c.exec.fence, request), {
    isTransient: deps.runStore.isTransient,
  });
  if (!written) return fencedOut(deps, c, { lastNode, logs: earlier });
  if (lastNode) c.checkpointer.published(lastNode, written.nodeSeqs);
  deps.events.logs(id, logs, written.seqs);
  deps.events.status(id, outcome.status);
  c.log.info({ status: outcome.status }, 'execution finished');
  if (written.errorExecution) await enqueueErrorWorkflow(deps.queue, c.log, written.errorExecution);
  await settleFamily(familyOf(deps, c.log), familyLinks(c.exec));
}

/**
 * The final write was fenced out. Cancelled by the API while it queued: what ran is still
 * recorded (the held-back last node and the buffered lines) under the cancelled status.
 * Taken over: nothing is written, the new holder continues.
 */
async function fencedOut(
  deps: ProcessorDeps,
  c: FinishContext,
  unwritten: { lastNode: DeferredNode | undefined; logs: NewLogEntry[] },
): Promise<void> {
  if (unwritten.lastNode) c.checkpointer.restoreDeferred(unwritten.lastNode);
  const cancelled = { at: deps.clock.now(), level: 'warn', nodeId: null } as const;
  const recorded = await c.checkpointer.recordAfterCancel([
    ...unwritten.logs,
    { ...cancelled, message: 'execution cancelled while its final status was being written' },
  ]);
  if (!recorded) {
    c.trace.outcome = { status: 'handed_over' };
    return c.log.warn('final write fenced out (taken over)');
  }
  c.trace.outcome = { status: 'cancelled', errorType: 'CANCELLATION' };
  deps.events.status(c.exec.fence.executionId, 'cancelled');
  c.log.info('execution cancelled as it finished; its node runs are recorded');
  await settleFamily(familyOf(deps, c.log), familyLinks(c.exec));
}
