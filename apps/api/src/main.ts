// First: the OpenTelemetry SDK starts before any instrumented module loads.
import './instrumentation.ts';
import cluster from 'node:cluster';
import { configSecretValues } from '@linkflow/domain';
import { createLogger, loadConfigOrExit } from '@linkflow/telemetry';
import { runPrimary } from './cluster-primary.ts';
import { loadConfig } from './config.ts';

const config = loadConfigOrExit('linkflow-api', () => loadConfig(process.env));
const logger = createLogger({
  level: config.logLevel,
  name: 'linkflow-api',
  secretValues: configSecretValues(config),
});
// The primary of API_WORKERS > 1 serves nothing: it never loads the app (see serve.ts).
if (config.workers > 1 && cluster.isPrimary) runPrimary({ workers: config.workers, logger });
else await (await import('./serve.ts')).serve(config, logger);
