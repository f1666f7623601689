import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createExecutionTracing, SPAN_ATTRIBUTES, SPAN_NAMES } from './execution-tracing.ts';
import { startTracing, type Tracing } from './tracing.ts';

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

const run = {
  executionId: 'e-1',
  tenantId: 't-1',
  workflowId: 'w-1',
  workflowVersion: 3,
  attempt: 2,
  resumed: true,
};

describe('createExecutionTracing', () => {
  it('puts a node attempt span under its run span, repeating the run attributes', () => {
    const spans = createExecutionTracing('test', tracing.tracer);
    const execution = spans.startExecution(run);
    execution.within(() => {
      const node = spans.startNodeAttempt({
        executionId: 'e-1',
        nodeId: 'n1',
        nodeType: 'http',
        attempt: 1,
      });
      node.end({ status: 'success', costUsd: 0.5 });
    });
    execution.end({ status: 'success' });
    const [node, parent] = exporter.getFinishedSpans();
    expect(parent?.name).toBe(SPAN_NAMES.execution);
    expect(parent?.kind).toBe(SpanKind.CONSUMER);
    expect(parent?.attributes[SPAN_ATTRIBUTES.executionAttempt]).toBe(2);
    expect(node?.name).toBe('linkflow.node http');
    expect(node?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    expect(node?.attributes[SPAN_ATTRIBUTES.workflowVersion]).toBe(3);
    expect(node?.attributes[SPAN_ATTRIBUTES.costUsd]).toBe(0.5);
  });

  it('with nodeSpans false, starts no node span: the node runs in the run span’s context', () => {
    // ARRANGE
    const spans = createExecutionTracing('test', tracing.tracer, { nodeSpans: false });
    const execution = spans.startExecution(run);
    // ACT
    const seen = execution.within(() => {
      const node = spans.startNodeAttempt({
        executionId: 'e-1',
        nodeId: 'n1',
        nodeType: 'http',
        attempt: 1,
      });
      const active = node.within(() => trace.getActiveSpan()?.spanContext().spanId);
      node.end({ status: 'success' });
      return { active, recording: node.recording };
    });
    execution.end({ status: 'success' });
    // ASSERT: only the run span was recorded, and it was the active one inside the node
    const finished = exporter.getFinishedSpans();
    expect(finished.map((s) => s.name)).toEqual([SPAN_NAMES.execution]);
    expect(seen).toEqual({ active: finished[0]?.spanContext().spanId, recording: false });
  });

  it('marks a failed unit ERROR with its error type and message', () => {
    const spans = createExecutionTracing('test', tracing.tracer);
    spans
      .startExecution(run)
      .end({ status: 'failed', errorType: 'TIMEOUT', errorMessage: 'node n1 timed out' });
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'TIMEOUT: node n1 timed out',
    });
    expect(span?.attributes[SPAN_ATTRIBUTES.errorType]).toBe('TIMEOUT');
  });
});
