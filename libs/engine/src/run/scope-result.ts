import { summarizeValue, type CompiledNode, type RunError } from '@linkflow/domain';
import { toNodeError } from '@linkflow/nodes';
import type { NodeLogLine, NodeRunResult } from './node-runner.ts';
import { storableOutputJson } from './output-json.ts';
import type { ScopeRuntime } from './scope-runtime.ts';

/** How a scope node (foreach, try) ended, before it becomes a checkpointable result. */
export interface ScopeEnd {
  readonly node: CompiledNode;
  readonly startedAt: Date;
  readonly status: NodeRunResult['status'];
  readonly output?: unknown;
  readonly error?: RunError | null;
  /** The node's own evaluation (a foreach's `items`): its cost and usage carry over. */
  readonly own?: NodeRunResult;
  /** Extra fields for the settled log line (e.g. `iterations`). */
  readonly data?: Record<string, unknown>;
}

/**
 * The scope node's own result, shaped like any node run's: one attempt spanning its members,
 * the output serialised under the node output cap (past it the node fails with EXECUTION),
 * and one settled log line. Members carry their own cost on their own rows.
 */
export function scopeResult(rt: ScopeRuntime, end: ScopeEnd): NodeRunResult {
  const finishedAt = rt.deps.clock.now();
  const durationMs = finishedAt.getTime() - end.startedAt.getTime();
  let status = end.status;
  let error = end.error ?? null;
  let json: string | null = null;
  if (status === 'success') {
    try {
      json = storableOutputJson(end.output ?? null, rt.deps.maxOutputBytes);
    } catch (err) {
      const e = toNodeError(err);
      status = 'failed';
      error = { type: e.type, message: e.message };
    }
  }
  const outputBytes = json === null ? 0 : Buffer.byteLength(json);
  return {
    status,
    output: status === 'success' ? (end.output ?? null) : null,
    outputJson: json,
    outputBytes,
    error,
    attempts: 1,
    attemptLog: [
      {
        attempt: 1,
        started_at: end.startedAt.toISOString(),
        finished_at: finishedAt.toISOString(),
        duration_ms: durationMs,
        ...(error ? { error } : {}),
      },
    ],
    usage: { ...end.own?.usage, wall_ms: durationMs, bytes_stored: outputBytes },
    cost: end.own?.cost ?? '0',
    startedAt: end.startedAt,
    finishedAt,
    durationMs,
    logs: [settledLine(end, { status, error, finishedAt, durationMs, outputBytes })],
  };
}

/** The scope node's one settled log line (like a plain node's: a summary, never values). */
function settledLine(
  end: ScopeEnd,
  r: {
    status: NodeRunResult['status'];
    error: RunError | null;
    finishedAt: Date;
    durationMs: number;
    outputBytes: number;
  },
): NodeLogLine {
  const verb = r.status === 'success' ? 'succeeded' : r.status;
  return {
    at: r.finishedAt,
    level: r.status === 'success' ? 'info' : r.status === 'cancelled' ? 'warn' : 'error',
    message: `node ${end.node.spec.id} ${verb} in ${r.durationMs} ms`,
    data: {
      type: end.node.spec.type,
      ...end.data,
      ...(r.status === 'success' ? { output: summarizeValue(end.output, r.outputBytes) } : {}),
      ...(r.error ? { error: r.error } : {}),
    },
  };
}
