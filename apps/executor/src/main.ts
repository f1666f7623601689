import { createLogger, loadConfigOrExit, startTracing } from '@linkflow/telemetry';
import { loadConfig } from './config.ts';
import { startExecutor } from './executor.ts';

function main(): void {
  const config = loadConfigOrExit('linkflow-executor', () => loadConfig(process.env));
  const tracing = startTracing({
    serviceName: 'linkflow-executor',
    ...(config.otlpEndpoint ? { otlpEndpoint: config.otlpEndpoint } : {}),
  });
  const log = createLogger({ level: config.logLevel, name: 'linkflow-executor' });
  const started = startExecutor(config, log);
  let stopping = false;
  // Registered before start-up finishes, so an early SIGTERM still shuts down cleanly.
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(
      { signal, graceMs: config.shutdownGraceMs },
      'shutting down: no new jobs; running executions get the grace period',
    );
    await (await started).stop(config.shutdownGraceMs);
    await Promise.race([tracing.shutdown(), new Promise((r) => setTimeout(r, 2000))]);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  started.catch((err: unknown) => {
    log.fatal({ err }, 'executor failed to start');
    process.exit(1);
  });
}

main();
