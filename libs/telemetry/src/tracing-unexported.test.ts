import { context, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectTraceContext, startTracing, withExtractedContext, type Tracing } from './tracing.ts';

let tracing: Tracing;

beforeAll(() => {
  // No exporter and no span processor: nothing would ever read a recorded span.
  tracing = startTracing({ serviceName: 'unexported' });
});

afterAll(async () => {
  await tracing.shutdown();
});

describe('tracing with nowhere to export', () => {
  it('gives spans ids that continue the caller’s trace', () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const carrier = { traceparent: `00-${traceId}-b7ad6b7169203331-01` };
    const span = withExtractedContext(carrier, () => tracing.tracer.startSpan('child'));
    expect(span.spanContext().traceId).toBe(traceId);
    expect(trace.isSpanContextValid(span.spanContext())).toBe(true);
    span.end();
  });

  it('passes the caller’s sampled flag on, so a process that exports downstream still records', () => {
    // An API without an exporter in front of an executor (or http target) with one: the
    // downstream parent-based sampler records only when the propagated flag says sampled.
    const carrier = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
    const span = withExtractedContext(carrier, () => tracing.tracer.startSpan('hop'));
    const out = context.with(trace.setSpan(context.active(), span), injectTraceContext);
    span.end();
    expect(out.traceparent).toMatch(/-01$/);
  });
});
