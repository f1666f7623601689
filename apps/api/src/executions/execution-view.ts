import type { Static } from '@sinclair/typebox';
import type { Transition } from '@linkflow/domain';
import type { ExecutionDetail, ExecutionRecord, LogEntry, NodeRunRecord } from '@linkflow/store';
import type {
  ExecutionSummary,
  ExecutionView,
  LogEntryView,
  NodeRunView,
  TransitionView,
} from './execution-schemas.ts';

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

const transitionView = (t: Transition): Static<typeof TransitionView> => ({
  from: t.from,
  to: t.to,
  at: t.at.toISOString(),
  reason: t.reason,
});

export function nodeRunView(run: NodeRunRecord): Static<typeof NodeRunView> {
  return {
    node_id: run.nodeId,
    ...(run.iteration === undefined ? {} : { iteration: run.iteration }),
    type: run.type,
    status: run.status,
    attempts: run.attempts,
    started_at: iso(run.startedAt),
    finished_at: iso(run.finishedAt),
    duration_ms: run.durationMs,
    output: run.output,
    output_truncated: run.outputTruncated,
    error: run.error,
    usage: run.usage,
    cost: run.cost,
  };
}

/** A list item: the execution without node runs or transitions (GET one for those). */
export function executionSummaryView(e: ExecutionRecord): Static<typeof ExecutionSummary> {
  return {
    id: e.id,
    workflow_id: e.workflowId,
    workflow_version: e.workflowVersion,
    status: e.status,
    priority: e.priority,
    input_data: e.inputData,
    output: e.output,
    error: e.error,
    created_at: e.createdAt.toISOString(),
    started_at: iso(e.startedAt),
    finished_at: iso(e.finishedAt),
    timeout_seconds: e.timeoutSeconds,
    cost: { total: e.costTotal, currency: 'USD' },
  };
}

/** The execution as clients read it (docs/api.md, Executions). */
export function executionView(
  e: ExecutionRecord,
  detail?: Pick<ExecutionDetail, 'nodeRuns' | 'transitions'>,
): Static<typeof ExecutionView> {
  const transitions = detail?.transitions ?? [
    { from: null, to: 'pending' as const, at: e.createdAt, reason: 'created' },
  ];
  const { cost, ...summary } = executionSummaryView(e);
  return {
    ...summary,
    node_runs: (detail?.nodeRuns ?? []).map(nodeRunView),
    transitions: transitions.map(transitionView),
    cost,
  };
}

export function logEntryView(entry: LogEntry): Static<typeof LogEntryView> {
  return {
    seq: entry.seq,
    at: entry.at.toISOString(),
    level: entry.level,
    node_id: entry.nodeId,
    message: entry.message,
    data: entry.data,
  };
}
