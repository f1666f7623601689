import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';
import {
  injectTraceContext,
  otlpTracesUrl,
  startTracing,
  withExtractedContext,
  type Tracing,
} from './tracing.ts';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;

beforeAll(() => {
  tracing = startTracing({
    serviceName: 'test',
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
});

afterEach(() => exporter.reset());

afterAll(async () => {
  await tracing.shutdown();
});

describe('trace propagation', () => {
  it('continues the parent trace in a span started inside the extracted context', () => {
    let parentTraceId = '';
    let parentSpanId = '';
    const carrier = tracing.tracer.startActiveSpan('api.request', (parent) => {
      parentTraceId = parent.spanContext().traceId;
      parentSpanId = parent.spanContext().spanId;
      const injected = injectTraceContext();
      parent.end();
      return injected;
    });

    withExtractedContext(carrier, () =>
      tracing.tracer.startActiveSpan('execution', (span) => span.end()),
    );

    const child = exporter.getFinishedSpans().find((s) => s.name === 'execution');
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(child?.spanContext().traceId).toBe(parentTraceId);
    expect(child?.parentSpanContext?.spanId).toBe(parentSpanId);
  });

  it('starts a new trace when there is no carrier', () => {
    const injected = injectTraceContext();

    withExtractedContext(undefined, () =>
      tracing.tracer.startActiveSpan('orphan', (span) => span.end()),
    );

    const span = exporter.getFinishedSpans()[0];
    expect(injected).toEqual({});
    expect(span?.parentSpanContext).toBeUndefined();
  });

  it('records spans with the service name and status', () => {
    tracing.tracer.startActiveSpan('node', (span) => {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });

    const span = exporter.getFinishedSpans()[0];
    expect(span?.resource.attributes['service.name']).toBe('test');
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('puts the active trace and span ids on log lines', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString('utf8')), cb()),
    });
    const log = createLogger({ level: 'info', name: 'executor', destination: stream });

    const ids = tracing.tracer.startActiveSpan('execution', (span) => {
      log.info('node completed');
      span.end();
      return span.spanContext();
    });

    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      trace_id: ids.traceId,
      span_id: ids.spanId,
    });
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});

describe('span redaction', () => {
  it('exports attributes, events and status without secrets', () => {
    const span = tracing.tracer.startSpan('client', {
      attributes: {
        'url.full': 'http://app:pw-12345@db.internal/x?token=t0k3n&page=2',
        'http.request.header.authorization': ['Bearer s3cr3t'],
        'linkflow.node.id': 'fetch',
      },
    });
    span.recordException(new TypeError('login failed: password=hunter22'));
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'GET https://x/?api_key=k3y failed' });
    span.end();

    const [exported] = exporter.getFinishedSpans();
    expect(JSON.stringify([exported?.attributes, exported?.events, exported?.status])).not.toMatch(
      /pw-12345|t0k3n|s3cr3t|hunter22|k3y/,
    );
    expect(exported?.attributes).toEqual({
      'url.full': 'http://app:[redacted]@db.internal/x?token=[redacted]&page=2',
      'http.request.header.authorization': '[redacted]',
      'linkflow.node.id': 'fetch',
    });
    expect(exported?.spanContext().traceId).toBe(span.spanContext().traceId);
  });
});

describe('otlpTracesUrl', () => {
  it('appends the traces path to a base endpoint once', () => {
    expect(otlpTracesUrl('http://jaeger:4318')).toBe('http://jaeger:4318/v1/traces');
    expect(otlpTracesUrl('http://jaeger:4318/')).toBe('http://jaeger:4318/v1/traces');
    expect(otlpTracesUrl('https://otel.example/v1/traces')).toBe('https://otel.example/v1/traces');
  });

  it('rejects what is not an http(s) URL', () => {
    expect(() => otlpTracesUrl('jaeger:4318')).toThrow(
      expect.objectContaining({ code: 'INVALID_OTLP_ENDPOINT' }),
    );
    expect(() => otlpTracesUrl('not a url')).toThrow(
      expect.objectContaining({ code: 'INVALID_OTLP_ENDPOINT' }),
    );
  });
});
