import { register } from 'node:module';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { startTracing, type Tracing } from './tracing.ts';

/** Incoming requests that are never traced: probes and scrapes would drown the real traffic. */
const UNTRACED_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * The auto-instrumentations of both services: HTTP server and client (`node:http`; the API's
 * requests are server spans), undici (the http node's client), pg and ioredis. Client spans are
 * only recorded under a parent span (a request, an execution run, a node attempt), so BullMQ's
 * polling and the pools' housekeeping make no root spans. Headers and query parameters are not
 * recorded; whatever is (URLs, SQL text) goes through the exporter's redaction.
 */
export function defaultInstrumentations(): Instrumentation[] {
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.test(req.url ?? ''),
      requireParentforOutgoingSpans: true,
    }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
    new PgInstrumentation({ requireParentSpan: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
  ];
}

/**
 * Module names the ESM loader hook (`@opentelemetry/instrumentation/hook.mjs`) intercepts:
 * only what the instrumentations above patch, so no other module is wrapped.
 */
export const INSTRUMENTED_MODULES: readonly string[] = [
  'http',
  'https',
  'node:http',
  'node:https',
  'undici',
  'pg',
  'pg-pool',
  'ioredis',
];

/**
 * Starts a service's tracing, first thing in its `instrumentation.ts`. The HTTP, undici, pg
 * and ioredis auto-instrumentations (and the ESM loader hook they need) are installed only
 * when spans are exported: a span per query and Redis command cost about a quarter of the
 * throughput in `make bench` while leading nowhere without a collector. The engine's own
 * execution and node attempt spans are always made (pino lines carry their trace ids).
 */
export function startServiceTracing(
  serviceName: string,
  otlpEndpoint: string | undefined,
): Tracing {
  const exporting = otlpEndpoint !== undefined;
  if (exporting) {
    // ESM imports of the instrumented modules go through OpenTelemetry's loader hook.
    register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
      data: { include: [...INSTRUMENTED_MODULES] },
    });
  }
  return startTracing({
    serviceName,
    ...(exporting ? { otlpEndpoint } : {}),
    instrumentations: exporting ? defaultInstrumentations() : [],
  });
}
