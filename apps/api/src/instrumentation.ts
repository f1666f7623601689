/**
 * The OpenTelemetry SDK of the api, started before any application module loads: run the
 * process as `node --import tsx --import ./apps/api/src/instrumentation.ts apps/api/src/main.ts`
 * (the Makefile and scripts/up.sh do). Auto-instrumentation patches only modules loaded after
 * the SDK starts, so pg, ioredis and the HTTP server/clients must not be imported before
 * this file. main.ts imports it first as well, so the process is traced even without
 * `--import` (then modules main.ts loads through the ESM graph may escape patching).
 * An invalid configuration exits 78 here, as main.ts would.
 */
import { loadConfigOrExit, startServiceTracing, type Tracing } from '@linkflow/telemetry';
import { loadConfig } from './config.ts';

const config = loadConfigOrExit('linkflow-api', () => loadConfig(process.env));

/** This process's tracing: main.ts reports export failures through it and shuts it down. */
export const tracing: Tracing = startServiceTracing('linkflow-api', config.otlpEndpoint);
