/**
 * The OpenTelemetry SDK of the executor, started before any application module loads: run the
 * process as `node --import tsx --import ./apps/executor/src/instrumentation.ts apps/executor/src/main.ts`
 * (the Makefile and scripts/up.sh do). Auto-instrumentation patches only modules loaded after
 * the SDK starts, so pg, ioredis and the HTTP server/clients must not be imported before
 * this file. main.ts imports it first as well, so the process is traced even without
 * `--import` (then modules main.ts loads through the ESM graph may escape patching).
 * An invalid configuration exits 78 here, as main.ts would.
 */
import { register } from 'node:module';
import {
  defaultInstrumentations,
  INSTRUMENTED_MODULES,
  loadConfigOrExit,
  startTracing,
  type Tracing,
} from '@linkflow/telemetry';
import { loadConfig } from './config.ts';

const config = loadConfigOrExit('linkflow-executor', () => loadConfig(process.env));

// The HTTP/undici/pg/ioredis auto-instrumentations only run when spans are exported: they
// make a span per query and Redis command, which cost about a quarter of the throughput in
// `make bench` while leading nowhere without a collector. The engine's own execution and
// node attempt spans are always made (pino lines carry their trace ids).
const exporting = config.otlpEndpoint !== undefined;
if (exporting) {
  // ESM imports of the instrumented modules go through OpenTelemetry's loader hook.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
    data: { include: [...INSTRUMENTED_MODULES] },
  });
}

/** This process's tracing: main.ts reports export failures through it and shuts it down. */
export const tracing: Tracing = startTracing({
  serviceName: 'linkflow-executor',
  ...(config.otlpEndpoint === undefined ? {} : { otlpEndpoint: config.otlpEndpoint }),
  instrumentations: exporting ? defaultInstrumentations() : [],
});
