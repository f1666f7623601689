import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { core, NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  NoopSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { RedactingSpanProcessor, type SecretValueSource } from './span-redaction.ts';
import { ReportingExporter, type ExportErrorHandler } from './span-export.ts';
import { telemetryErrors } from './telemetry-errors.ts';

/** Options for {@link startTracing}. */
export interface TracingOptions {
  /** `service.name` of every span (`linkflow-api`, `linkflow-executor`). */
  readonly serviceName: string;
  /**
   * OTLP/HTTP base endpoint, as in `OTEL_EXPORTER_OTLP_ENDPOINT` (`http://jaeger:4318`);
   * `/v1/traces` is appended. Without it spans are recorded (ids propagate, logs carry
   * them) but exported nowhere.
   */
  readonly otlpEndpoint?: string;
  /** More span processors, e.g. a `SimpleSpanProcessor(new InMemorySpanExporter())` in tests. */
  readonly spanProcessors?: readonly SpanProcessor[];
  /** Auto-instrumentations; they only patch modules loaded after `startTracing`. */
  readonly instrumentations?: NodeSDKConfiguration['instrumentations'];
  /**
   * How long one export may take, retries included (default: the SDK's 10 s, or
   * `OTEL_EXPORTER_OTLP_TIMEOUT`). A collector that is down costs at most this per batch.
   */
  readonly exportTimeoutMs?: number;
  /** Least time between two export-failure reports (default 60 s). */
  readonly exportErrorIntervalMs?: number;
}

/** A started tracing SDK. */
export interface Tracing {
  /** Tracer named after the service. */
  readonly tracer: Tracer;
  /**
   * Where failed exports are reported (a warning log line): at most once per
   * `exportErrorIntervalMs`, with how many batches failed since the last report. Before a
   * handler is set, failures are silent. Spans of a failed batch are dropped; the queue of
   * unexported spans is bounded (2,048, `OTEL_BSP_MAX_QUEUE_SIZE`), so a collector that is
   * down costs neither memory nor the service.
   */
  onExportError(handler: ExportErrorHandler): void;
  /**
   * Flushes pending spans, stops the SDK and unregisters the OpenTelemetry globals (always,
   * even when the flush fails). Resolves after at most `timeoutMs` (default 2 s) even when
   * the collector does not answer; export failures are reported, never thrown.
   */
  shutdown(timeoutMs?: number): Promise<void>;
  /**
   * Secret strings known only at run time (credential values held by running nodes): every
   * span attribute, event and status message is redacted of them too, from now on.
   */
  redactValuesFrom(source: SecretValueSource): void;
}

/**
 * The OTLP/HTTP traces URL for a base endpoint (kept as is when it already ends in
 * `/v1/traces`).
 * @throws AppError `INVALID_OTLP_ENDPOINT` when `endpoint` is not an http(s) URL.
 */
export function otlpTracesUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw telemetryErrors.invalidOtlpEndpoint(endpoint);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw telemetryErrors.invalidOtlpEndpoint(endpoint);
  const base = url.href.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

function spanProcessorsFor(
  options: TracingOptions,
  values: SecretValueSource,
  exporter?: ReportingExporter,
): SpanProcessor[] {
  const processors = [...(options.spanProcessors ?? [])];
  if (exporter !== undefined) processors.push(new BatchSpanProcessor(exporter));
  // NodeSDK registers no tracer provider at all when the list is empty, and then spans
  // have no ids to propagate; a no-op processor keeps spans recorded but unexported. Nothing
  // leaves the process then, so it needs no redaction: every node attempt's span would pay
  // for it. (Sampling stays the caller's: the sampled flag propagates as it came.)
  if (processors.length === 0) return [new NoopSpanProcessor()];
  // Whatever an instrumentation recorded, nothing leaves the process unredacted.
  return processors.map((processor) => new RedactingSpanProcessor(processor, values));
}

function otlpExporter(options: TracingOptions): ReportingExporter | undefined {
  if (options.otlpEndpoint === undefined) return undefined;
  const url = otlpTracesUrl(options.otlpEndpoint);
  const timeout =
    options.exportTimeoutMs === undefined ? {} : { timeoutMillis: options.exportTimeoutMs };
  return new ReportingExporter(new OTLPTraceExporter({ url, ...timeout }), {
    intervalMs: options.exportErrorIntervalMs ?? 60_000,
  });
}

/**
 * Starts the OpenTelemetry SDK for this process: W3C trace context + baggage propagation,
 * AsyncLocalStorage context, no resource detectors (they make span export asynchronous and
 * probe the host), and traces only. Metrics stay in prom-client and logs in pino, so metric
 * readers and log processors are set empty explicitly (NodeSDK would otherwise build OTLP
 * exporters for them from the environment). Call it once, first, from `instrumentation.ts`
 * (loaded with `--import`). The SDK still honours the standard `OTEL_*` variables it reads
 * itself (`OTEL_SDK_DISABLED`, sampler, `OTEL_BSP_*` batching, `OTEL_EXPORTER_OTLP_TIMEOUT`).
 * Every span processor sees spans redacted ({@link RedactingSpanProcessor}).
 * @throws AppError `INVALID_OTLP_ENDPOINT` when `otlpEndpoint` is not an http(s) URL.
 */
export function startTracing(options: TracingOptions): Tracing {
  const exporter = otlpExporter(options);
  // Set later by the composition root (the SDK starts before it exists).
  let source: SecretValueSource | undefined;
  const liveValues: SecretValueSource = { values: () => source?.values() ?? [] };
  const sdk = new NodeSDK({
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    ),
    resourceDetectors: [],
    spanProcessors: spanProcessorsFor(options, liveValues, exporter),
    metricReaders: [],
    logRecordProcessors: [],
    textMapPropagator: new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
    instrumentations: options.instrumentations ?? [],
  });
  sdk.start();
  return {
    tracer: trace.getTracer(options.serviceName),
    redactValuesFrom(from) {
      source = from;
    },
    onExportError(handler) {
      exporter?.reportTo(handler);
    },
    async shutdown(timeoutMs = 2_000) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      try {
        await Promise.race([sdk.shutdown().catch((err: unknown) => exporter?.report(err)), late]);
      } finally {
        clearTimeout(timer);
        // NodeSDK leaves its globals registered; clearing them lets a later start register again.
        trace.disable();
        propagation.disable();
        context.disable();
      }
    },
  };
}

/**
 * Serialises the active trace context (W3C `traceparent`, `tracestate`, `baggage`) into a
 * plain object, e.g. for the `trace` field of a job payload. Empty when no span is active or
 * tracing is not started.
 */
export function injectTraceContext(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/**
 * Runs `fn` in the context carried by `carrier` (from {@link injectTraceContext}), so spans
 * started inside become children of the remote span: the queue hop continues the API's
 * trace. With no or an empty carrier `fn` runs in the current context.
 */
export function withExtractedContext<T>(
  carrier: Readonly<Record<string, string>> | undefined,
  fn: () => T,
): T {
  if (carrier === undefined) return fn();
  return context.with(propagation.extract(context.active(), carrier), fn);
}
