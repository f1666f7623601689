import {
  formatMoney,
  jsonHasUnstorableText,
  type ChildStart,
  type CompiledNode,
  type Fence,
  type RunError,
  type SpawnedExecution,
  type TerminalChild,
} from '@linkflow/domain';
import { evaluationLimits, type NodeInput } from '@linkflow/nodes';
import type { Clock } from '@linkflow/domain';
import type { EngineLogger, JobQueuePort } from '../ports.ts';
import type { NodeLogLine, NodeRunResult } from './node-runner.ts';
import type { ChildExecutionPort } from './subworkflow-port.ts';

/** A subworkflow node whose child still runs: the node stays `running`, the DAG goes on. */
export const WAITING = { status: 'waiting' } as const;
/** The type of {@link WAITING}. */
export type Waiting = typeof WAITING;

/** What {@link runSubworkflow} works through, bound to one parent run. */
export interface SubworkflowDeps {
  readonly children: ChildExecutionPort;
  /** Enqueues a new child (else the sweeper does, after its pending grace). */
  readonly queue: Pick<JobQueuePort, 'requeue'> | undefined;
  readonly clock: Clock;
  readonly log: EngineLogger;
  /** The parent run's claim: children are created only while it holds. */
  readonly fence: Fence;
  readonly expressionTimeoutMs?: number | undefined;
}

interface Settled {
  readonly node: CompiledNode;
  readonly startedAt: Date;
  readonly deps: SubworkflowDeps;
}

function result(
  s: Settled,
  r: { status: 'success' | 'failed'; output: unknown; error: RunError | null; data: object },
): NodeRunResult {
  const finishedAt = s.deps.clock.now();
  const durationMs = finishedAt.getTime() - s.startedAt.getTime();
  const outputJson = r.status === 'success' ? JSON.stringify(r.output ?? null) : null;
  const outputBytes = outputJson === null ? 0 : Buffer.byteLength(outputJson);
  const verb = r.status === 'success' ? 'succeeded' : 'failed';
  const log: NodeLogLine = {
    at: finishedAt,
    level: r.status === 'success' ? 'info' : 'error',
    message: `node ${s.node.spec.id} ${verb} in ${durationMs} ms`,
    data: { type: 'subworkflow', ...r.data, ...(r.error ? { error: r.error } : {}) },
  };
  return {
    status: r.status,
    output: r.status === 'success' ? (r.output ?? null) : null,
    outputJson,
    outputBytes,
    error: r.error,
    attempts: 1,
    attemptLog: [],
    usage: { wall_ms: durationMs },
    // The child's cost stays on the child (its own cost summary); counting it here too
    // would bill it twice in the parent's total and in the reports.
    cost: formatMoney(0),
    startedAt: s.startedAt,
    finishedAt,
    durationMs,
    logs: [log],
  };
}

/** The node's result once its child ended: the child's output, or an error naming it. */
export function settleWithChild(s: Settled, child: TerminalChild): NodeRunResult {
  const data = { child_execution_id: child.id, child_cost: child.cost };
  if (child.status === 'success')
    return result(s, { status: 'success', output: child.output, error: null, data });
  const error: RunError =
    child.status === 'cancelled'
      ? { type: 'CANCELLATION', message: `child execution ${child.id} was cancelled` }
      : {
          type: child.error?.type ?? 'EXECUTION',
          message: `child execution ${child.id} failed: ${child.error?.message ?? 'unknown error'}`,
          ...(child.error ? { cause: child.error } : {}),
        };
  return result(s, { status: 'failed', output: null, error, data });
}

/** A node failure before any child exists (bad template, refused target). */
function failed(s: Settled, error: RunError): NodeRunResult {
  return result(s, { status: 'failed', output: null, error, data: {} });
}

/** The rendered `workflow_id`, `version` and `input`, or the node's error. */
async function target(
  node: CompiledNode,
  input: NodeInput,
  options: { signal: AbortSignal; expressionTimeoutMs?: number | undefined },
): Promise<{ workflowId: string; version: number | undefined; input: unknown } | RunError> {
  const limits = evaluationLimits({ signal: options.signal, maxMs: options.expressionTimeoutMs });
  const rendered = await node.config.render(input, limits);
  if (!rendered.ok)
    return { type: 'EXPRESSION', message: `${rendered.error.path}: ${rendered.error.message}` };
  const { workflow_id: workflowId, version } = rendered.value;
  if (typeof workflowId !== 'string' || workflowId.length === 0)
    return { type: 'VALIDATION', message: 'workflow_id did not render to a workflow id' };
  const childInput = rendered.value['input'] ?? null;
  // Postgres refuses these in text and jsonb: the start would throw and retry the parent's job
  // into the dead-letter queue instead of failing this node.
  if (jsonHasUnstorableText(JSON.stringify([workflowId, childInput])))
    return {
      type: 'VALIDATION',
      message:
        'workflow_id or input contains a NUL character (\\u0000) or a lone UTF-16 surrogate, which cannot be stored',
    };
  return {
    workflowId,
    version: typeof version === 'number' ? version : undefined,
    input: childInput,
  };
}

/**
 * Runs a `subworkflow` node: renders its config, starts (or finds) its child execution and
 * returns the node's result when the child has ended, else {@link WAITING} (the node stays
 * `running` and takes no slot; the run parks once nothing else can run, and the child's
 * final write wakes it). A new child is enqueued here.
 * @throws AppError from the store (the job is retried from its checkpoints)
 */
export async function runSubworkflow(
  deps: SubworkflowDeps,
  node: CompiledNode,
  req: { input: NodeInput; signal: AbortSignal },
): Promise<NodeRunResult | Waiting> {
  const s: Settled = { node, startedAt: deps.clock.now(), deps };
  const wanted = await target(node, req.input, {
    signal: req.signal,
    expressionTimeoutMs: deps.expressionTimeoutMs,
  });
  if ('type' in wanted) return failed(s, wanted);
  const started: ChildStart = await deps.children.start({
    parent: deps.fence,
    nodeId: node.spec.id,
    ...wanted,
    at: s.startedAt,
  });
  switch (started.kind) {
    case 'refused':
      return failed(s, started.error);
    case 'terminal':
      return settleWithChild(s, started.child);
    case 'fenced':
      // The run lost its claim: its new holder starts the child; this run is being stopped.
      return WAITING;
    case 'live':
      return WAITING;
    case 'created':
      await enqueueChild(deps, started.child);
      return WAITING;
  }
}

async function enqueueChild(deps: SubworkflowDeps, child: SpawnedExecution): Promise<void> {
  const childExecutionId = child.executionId;
  if (!deps.queue) return;
  try {
    await deps.queue.requeue(child);
    deps.log.info({ childExecutionId }, 'child execution started and enqueued');
  } catch (err) {
    deps.log.warn({ err, childExecutionId }, 'child enqueue failed; the sweeper enqueues it');
  }
}
