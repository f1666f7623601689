import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

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
