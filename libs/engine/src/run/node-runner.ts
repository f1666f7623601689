import {
  costUnits,
  formatMoney,
  redactSecrets,
  redactText,
  resolveRetryPolicy,
  retryDelayMs,
  shouldRetry,
  summarizeValue,
  type Clock,
  type CompiledNode,
  type LiveSecrets,
  type LogLevel,
  type RateCard,
  type RunError,
} from '@linkflow/domain';
import {
  abortError,
  evaluationLimits,
  NodeError,
  toNodeError,
  type NodeInput,
  type NodeRegistry,
  type NodeUsage,
} from '@linkflow/nodes';
import { callBreakerOptions, type BreakerRegistry } from '../breakers/breaker-registry.ts';
import type { CredentialPort, EngineLogger, TracingPort } from '../ports.ts';
import { breakerTarget, renderConfig } from './node-secrets.ts';
import { finalError, toRunError } from './node-run-errors.ts';
import { childController, raceAbort, sleep } from './abortable.ts';
import { storableLogData, storableLogMessage } from './log-caps.ts';
import {
  logAttemptFailed,
  logNodeSettled,
  tracedAttempt,
  type AttemptSubject,
} from './node-observe.ts';
import { deepOutputError, storableOutputJson } from './output-json.ts';

/** The executor's node slots (`FairSlots`; a plain `Semaphore` ignores the tenant). */
export interface NodeSlots {
  /** Waits for a slot of `tenant`; rejects with the signal's reason when it aborts first. */
  acquire(tenant: string, signal?: AbortSignal): Promise<() => void>;
}

/** What {@link runNode} needs: node types, breakers, slots, the clock and the caps. */
export interface NodeRunnerDeps {
  readonly registry: NodeRegistry;
  readonly breakers: BreakerRegistry;
  readonly slots: NodeSlots;
  readonly clock: Clock;
  readonly random: () => number;
  readonly maxOutputBytes: number;
  /**
   * Bytes of node outputs one DAG run may hold in memory (LINKFLOW_MAX_RETAINED_OUTPUT_BYTES);
   * past it the execution fails with EXECUTION at once. Undefined: no limit.
   */
  readonly maxRetainedOutputBytes?: number | undefined;
  /** Ceiling on one expression or template evaluation (LINKFLOW_EXPRESSION_TIMEOUT_MS). */
  readonly expressionTimeoutMs?: number;
  /** Prices that turn a node run's usage into cost (LINKFLOW_RATE_CARD); the defaults when absent. */
  readonly rateCard?: RateCard | undefined;
  readonly onRetry?: (type: string) => void;
  readonly onAttempt?: (type: string, status: 'success' | 'failed', seconds: number) => void;
  /** A span per node attempt (see {@link TracingPort}); none when absent. */
  readonly tracing?: TracingPort;
  /** Where retries and settled nodes are logged (pino lines with execution and node ids). */
  readonly log?: EngineLogger;
  /**
   * Secret strings known to the process (the operator's connection passwords): replaced by
   * `[redacted]` wherever they would reach a node's logs, output or error.
   */
  readonly secretValues?: readonly string[];
  /** Resolves `{{ secrets.<name>.<key> }}` just before a node runs; none: such nodes fail. */
  readonly credentials?: CredentialPort;
  /** The process's held credential values (its pino and span redaction read them). */
  readonly liveSecrets?: LiveSecrets;
}

/** A log line a node wrote while it ran (capped, NUL-free), stored with its checkpoint. */
export interface NodeLogLine {
  readonly at: Date;
  readonly level: LogLevel;
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

interface AttemptRecord {
  attempt: number;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  error?: RunError;
}

/** A node run's result, ready to checkpoint. */
export interface NodeRunResult {
  readonly status: 'success' | 'failed' | 'cancelled';
  readonly output: unknown;
  /** The output serialised once, reused for the checkpoint. */
  readonly outputJson: string | null;
  readonly outputBytes: number;
  readonly error: RunError | null;
  readonly attempts: number;
  readonly attemptLog: readonly AttemptRecord[];
  readonly usage: Record<string, number>;
  readonly cost: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly durationMs: number;
  readonly logs: readonly NodeLogLine[];
}

/** How one attempt ended. */
export type AttemptOutcome =
  { ok: true; output: unknown; json: string; usage: NodeUsage } | { ok: false; error: NodeError };

/**
 * The secret values of one node run: the process's, plus those of the node's rendered config
 * (header values under secret names, URL passwords, …) once it is rendered.
 */
export interface RunSecrets {
  values: readonly string[];
}

/** One node run as the DAG runner asks for it. */
export interface NodeRunRequest {
  readonly input: NodeInput;
  /** Aborts on cancel, execution timeout, fail_fast or a lost lease. */
  readonly signal: AbortSignal;
  /** The execution's tenant (nodes use it for per-tenant limits and access checks). */
  readonly tenantId: string;
}

/** One attempt of a node run. */
export interface AttemptRequest extends NodeRunRequest {
  readonly attempt: number;
  readonly logs: NodeLogLine[];
  readonly secrets: RunSecrets;
}

/**
 * The attempt's abort controller: its own (under the run's signal) when the attempt can be
 * aborted on its own, by its timeout or by its target's breaker; otherwise the run's signal
 * as it is (a transform without `timeout_ms`, in a loop, pays for no controller and listener).
 */
function attemptController(
  signal: AbortSignal,
  can: { timeout: boolean; breaker: boolean },
): { controller: Pick<AbortController, 'signal' | 'abort'>; dispose: () => void } {
  if (can.timeout || can.breaker) return childController(signal);
  const abortNothing = (): void => undefined;
  return { controller: { signal, abort: abortNothing }, dispose: abortNothing };
}

async function attemptOnce(
  deps: NodeRunnerDeps,
  node: CompiledNode,
  { input, signal, tenantId, attempt, logs, secrets }: AttemptRequest,
): Promise<AttemptOutcome> {
  const def = deps.registry.resolve(node.spec.type);
  // The slot first: a node's timeout must not run down while it waits for one. A node limited
  // by its own pool (code) takes none: it waits in that pool's fair queue instead, holding no
  // slot other node types need, and its deadline counts from here.
  // Per-tenant share of the slots: one tenant's hung nodes cannot starve another's.
  let release: () => void = () => undefined;
  try {
    if (!def.ownConcurrency) release = await deps.slots.acquire(tenantId, signal);
  } catch (err) {
    return { ok: false, error: toNodeError(err, signal) };
  }
  const timeoutMs = node.spec.timeout_ms;
  const { controller, dispose } = attemptController(signal, {
    timeout: timeoutMs !== undefined,
    breaker: def.breakerKey !== undefined,
  });
  let releaseSecrets: () => void = () => undefined;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            controller.abort(
              new NodeError('TIMEOUT', `node exceeded its timeout of ${timeoutMs} ms`, {
                retryable: true,
              }),
            ),
          timeoutMs,
        );
  try {
    if (controller.signal.aborted) throw abortError(controller.signal);
    // Templates and the node's own expressions share its deadline and signal, and give
    // the event loop turns, so a runaway expression cannot hold the executor.
    const evaluation = evaluationLimits({
      signal: controller.signal,
      timeoutMs,
      maxMs: deps.expressionTimeoutMs,
      maxValueBytes: deps.maxOutputBytes,
    });
    const rendered = await renderConfig(deps, node, {
      input,
      tenantId,
      evaluation,
      signal: controller.signal,
    });
    releaseSecrets = rendered.release;
    const { values } = rendered;
    secrets.values = values;
    const ctx = {
      signal: controller.signal,
      clock: deps.clock,
      nodeId: node.spec.id,
      tenantId,
      attempt,
      timeoutMs: timeoutMs ?? 0,
      evaluation,
      log: (level: LogLevel, message: string, data?: Record<string, unknown>) =>
        logs.push({
          at: deps.clock.now(),
          level,
          message: storableLogMessage(redactText(message, values)),
          ...(data ? { data: storableLogData(redactSecrets(data, { values })) } : {}),
        }),
    };
    const breaker = breakerTarget(def.breakerKey?.(rendered.config), values);
    const run = () => def.execute(ctx, rendered.config, input);
    const result = await raceAbort(
      breaker === undefined
        ? run()
        : deps.breakers.fire({ tenantId, ...breaker }, run, {
            overrides: callBreakerOptions(node.spec),
            abort: (reason) => controller.abort(reason),
          }),
      controller.signal,
    );
    // A server that echoes a secret header back must not put it in the stored output.
    const output = redactSecrets(result.output ?? null, { byName: false, values });
    const json = storableOutputJson(output, deps.maxOutputBytes);
    return { ok: true, output, json, usage: result.usage };
  } catch (err) {
    return { ok: false, error: toNodeError(deepOutputError(err), controller.signal) };
  } finally {
    releaseSecrets();
    release();
    clearTimeout(timer);
    dispose();
  }
}

/**
 * Runs one node: renders its templates, executes it through its target's breaker under
 * its timeout, retries retryable failures with exponential backoff and jitter, and
 * records every attempt. Never throws: failures come back as a failed result.
 */
export async function runNode(
  deps: NodeRunnerDeps,
  node: CompiledNode,
  request: NodeRunRequest,
): Promise<NodeRunResult> {
  const { signal } = request;
  const policy = resolveRetryPolicy(node.spec.retry);
  const startedAt = deps.clock.now();
  // One line per settled node (its start is in node_runs and in the live `running` event).
  const logs: NodeLogLine[] = [];
  const attemptLog: AttemptRecord[] = [];
  const secrets: RunSecrets = { values: deps.secretValues ?? [] };
  const c: SettleContext = { deps, node, startedAt, attemptLog, logs, secrets, request };
  for (let attempt = 1; ; attempt++) {
    const subject = subjectOf(c, attempt);
    const { outcome, begun, ended } = await tracedAttempt(deps, subject, () =>
      attemptOnce(deps, node, { ...request, attempt, logs, secrets }),
    );
    const record: AttemptRecord = {
      attempt,
      started_at: begun.toISOString(),
      finished_at: ended.toISOString(),
      duration_ms: ended.getTime() - begun.getTime(),
    };
    deps.onAttempt?.(node.spec.type, outcome.ok ? 'success' : 'failed', record.duration_ms / 1000);
    if (outcome.ok) {
      attemptLog.push(record);
      return settle(c, {
        status: 'success',
        output: outcome.output,
        json: outcome.json,
        usage: outcome.usage,
        error: null,
      });
    }
    attemptLog.push({ ...record, error: toRunError(outcome.error, secrets.values) });
    const cancelled = signal.aborted || outcome.error.type === 'CANCELLATION';
    if (cancelled || !shouldRetry(policy, attempt, outcome.error)) {
      const error = cancelled ? toNodeError(signal.reason ?? outcome.error, signal) : outcome.error;
      const runError = cancelled
        ? toRunError(error, secrets.values)
        : finalError(error, attempt, secrets.values);
      return settle(c, {
        status: cancelled ? 'cancelled' : 'failed',
        ...NO_RESULT,
        error: runError,
      });
    }
    const delay = retryDelayMs(policy, attempt, deps.random());
    deps.onRetry?.(node.spec.type);
    logAttemptFailed(deps.log, subject, { errorType: outcome.error.type, delayMs: delay });
    logs.push({
      at: ended,
      level: 'warn',
      message: `node ${node.spec.id} attempt ${attempt} failed; retrying in ${delay} ms`,
      data: { error: toRunError(outcome.error, secrets.values) },
    });
    try {
      await sleep(delay, signal);
    } catch {
      const error = toRunError(toNodeError(signal.reason, signal), secrets.values);
      return settle(c, { status: 'cancelled', ...NO_RESULT, error });
    }
  }
}

const NO_RESULT = { output: null, json: null, usage: {} } as const;

function subjectOf(c: SettleContext, attempt: number): AttemptSubject {
  return {
    executionId: c.request.input.execution.id,
    tenantId: c.request.tenantId,
    nodeId: c.node.spec.id,
    nodeType: c.node.spec.type,
    attempt,
    secrets: c.secrets,
    signal: c.request.signal,
  };
}

interface SettleContext {
  deps: NodeRunnerDeps;
  node: CompiledNode;
  startedAt: Date;
  attemptLog: AttemptRecord[];
  logs: NodeLogLine[];
  secrets: RunSecrets;
  request: NodeRunRequest;
}

function settle(
  c: SettleContext,
  r: {
    status: NodeRunResult['status'];
    output: unknown;
    json: string | null;
    usage: NodeUsage;
    error: RunError | null;
  },
): NodeRunResult {
  const finishedAt = c.deps.clock.now();
  const durationMs = finishedAt.getTime() - c.startedAt.getTime();
  const outputBytes = r.json === null ? 0 : Buffer.byteLength(r.json);
  const usage: Record<string, number> = {
    wall_ms: durationMs,
    ...r.usage,
    bytes_stored: outputBytes,
  };
  const level = r.status === 'success' ? 'info' : r.status === 'cancelled' ? 'warn' : 'error';
  c.logs.push({
    at: finishedAt,
    level,
    message: `node ${c.node.spec.id} ${r.status === 'success' ? 'succeeded' : r.status} in ${durationMs} ms`,
    data: {
      type: c.node.spec.type,
      attempts: c.attemptLog.length,
      // A summary (type, size, keys), never the values: outputs may hold personal data.
      ...(r.status === 'success' ? { output: summarizeValue(r.output, outputBytes) } : {}),
      ...(r.error ? { error: r.error } : {}),
    },
  });
  logNodeSettled(c.deps.log, subjectOf(c, c.attemptLog.length), {
    status: r.status,
    errorType: r.error?.type,
    durationMs,
  });
  return {
    status: r.status,
    output: r.output,
    outputJson: r.json,
    outputBytes,
    error: r.error,
    attempts: c.attemptLog.length,
    attemptLog: c.attemptLog,
    usage,
    cost: formatMoney(
      costUnits({ wall_ms: durationMs, ...r.usage, bytes_stored: outputBytes }, c.deps.rateCard),
    ),
    startedAt: c.startedAt,
    finishedAt,
    durationMs,
    logs: c.logs,
  };
}
