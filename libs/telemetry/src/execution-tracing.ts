import {
  context,
  createContextKey,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';

/** How a traced unit of work ended (the engine's `SpanOutcome`). */
export interface SpanOutcome {
  /** `success`, `failed` (marks the span an error), `cancelled` or `handed_over`. */
  readonly status: string;
  readonly errorType?: string | undefined;
  /** Already redacted by the caller. */
  readonly errorMessage?: string | undefined;
  readonly costUsd?: number | undefined;
}

/** A started span (the engine's `TraceSpan`): `within` makes it the active context. */
export interface TraceSpan {
  within<T>(fn: () => T): T;
  end(outcome: SpanOutcome): void;
  /** False when nothing records the span (no exporter): callers may skip building an outcome. */
  readonly recording: boolean;
}

/**
 * Spans of execution runs and node attempts (the engine's `TracingPort`; declared here so
 * telemetry needs no engine types).
 */
export interface ExecutionTracing {
  startExecution(info: {
    readonly executionId: string;
    readonly tenantId: string;
    readonly workflowId: string;
    readonly workflowVersion: number;
    readonly attempt: number;
    readonly resumed: boolean;
  }): TraceSpan;
  startNodeAttempt(info: {
    readonly executionId: string;
    readonly nodeId: string;
    readonly nodeType: string;
    readonly attempt: number;
  }): TraceSpan;
}

/**
 * Span attribute names (README, "Traces"). Ids and types only: no configs, inputs or outputs.
 */
export const SPAN_ATTRIBUTES = {
  executionId: 'linkflow.execution.id',
  tenantId: 'linkflow.tenant.id',
  workflowId: 'linkflow.workflow.id',
  workflowVersion: 'linkflow.workflow.version',
  /** The run's claim attempt (1 fresh, more when resumed). */
  executionAttempt: 'linkflow.execution.attempt',
  resumed: 'linkflow.execution.resumed',
  nodeId: 'linkflow.node.id',
  nodeType: 'linkflow.node.type',
  /** The node attempt (1 first try, 2 first retry, …). */
  attempt: 'linkflow.attempt',
  status: 'linkflow.status',
  errorType: 'linkflow.error.type',
  costUsd: 'linkflow.cost_usd',
} as const;

/** Span names: one run of an execution, one attempt of a node (`linkflow.node http`). */
export const SPAN_NAMES = {
  execution: 'linkflow.execution',
  node: (type: string) => `linkflow.node ${type}`,
} as const;

/** The run's workflow attributes, repeated on its node spans (searchable per node). */
const RUN_ATTRIBUTES = createContextKey('linkflow run attributes');

function ended(span: Span, outcome: SpanOutcome): void {
  span.setAttribute(SPAN_ATTRIBUTES.status, outcome.status);
  if (outcome.errorType !== undefined)
    span.setAttribute(SPAN_ATTRIBUTES.errorType, outcome.errorType);
  if (outcome.costUsd !== undefined) span.setAttribute(SPAN_ATTRIBUTES.costUsd, outcome.costUsd);
  if (outcome.status === 'failed') {
    const message = [outcome.errorType, outcome.errorMessage].filter(Boolean).join(': ');
    span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
  }
  span.end();
}

function handle(span: Span, active: Context): TraceSpan {
  return {
    within: (fn) => context.with(active, fn),
    end: (outcome) => ended(span, outcome),
    recording: span.isRecording(),
  };
}

/** A node attempt without a span (`nodeSpans: false`): runs in the execution span's context. */
const UNTRACED: TraceSpan = { within: (fn) => fn(), end: () => undefined, recording: false };

/**
 * Execution tracing over OpenTelemetry: a CONSUMER span per execution run (the job's context
 * is active when it starts, so it continues the API request's trace) and an INTERNAL span per
 * node attempt under it. Failed units get status ERROR. The tracer defaults to the global
 * one named `tracerName`: a no-op until the SDK has started (instrumentation.ts).
 * `nodeSpans: false` (a process that exports no spans) starts no node spans: a span per node
 * attempt, loop iterations included, that nothing reads costs an executor measurable CPU. The
 * execution span stays, so ids and the sampled flag still propagate (logs, jobs, http targets).
 */
export function createExecutionTracing(
  tracerName: string,
  tracer: Tracer = trace.getTracer(tracerName),
  options: { readonly nodeSpans?: boolean } = {},
): ExecutionTracing {
  const nodeSpans = options.nodeSpans ?? true;
  return {
    startExecution(info) {
      const run: Attributes = {
        [SPAN_ATTRIBUTES.executionId]: info.executionId,
        [SPAN_ATTRIBUTES.workflowId]: info.workflowId,
        [SPAN_ATTRIBUTES.workflowVersion]: info.workflowVersion,
      };
      const span = tracer.startSpan(SPAN_NAMES.execution, {
        kind: SpanKind.CONSUMER,
        attributes: {
          ...run,
          [SPAN_ATTRIBUTES.tenantId]: info.tenantId,
          [SPAN_ATTRIBUTES.executionAttempt]: info.attempt,
          [SPAN_ATTRIBUTES.resumed]: info.resumed,
        },
      });
      return handle(span, trace.setSpan(context.active(), span).setValue(RUN_ATTRIBUTES, run));
    },
    startNodeAttempt(info) {
      if (!nodeSpans) return UNTRACED;
      const run = (context.active().getValue(RUN_ATTRIBUTES) as Attributes | undefined) ?? {
        [SPAN_ATTRIBUTES.executionId]: info.executionId,
      };
      const span = tracer.startSpan(SPAN_NAMES.node(info.nodeType), {
        kind: SpanKind.INTERNAL,
        attributes: {
          ...run,
          [SPAN_ATTRIBUTES.nodeId]: info.nodeId,
          [SPAN_ATTRIBUTES.nodeType]: info.nodeType,
          [SPAN_ATTRIBUTES.attempt]: info.attempt,
        },
      });
      return handle(span, trace.setSpan(context.active(), span));
    },
  };
}
