// First: the OpenTelemetry SDK starts before any instrumented module loads.
import { tracing } from './instrumentation.ts';
import { configSecretValues, createLiveSecrets } from '@linkflow/domain';
import { checkDbConnectionsAtStartup } from '@linkflow/nodes';
import { createLogger, exitWithConfigIssues, loadConfigOrExit } from '@linkflow/telemetry';
import { loadConfig } from './config.ts';
import { startExecutor } from './executor.ts';

function main(): void {
  const config = loadConfigOrExit('linkflow-executor', () => loadConfig(process.env));
  // Credential values held by running nodes: pino lines and spans are redacted of them.
  const liveSecrets = createLiveSecrets();
  const log = createLogger({
    level: config.logLevel,
    name: 'linkflow-executor',
    secretValues: configSecretValues(config),
    liveSecrets,
  });
  tracing.redactValuesFrom(liveSecrets);
  tracing.onExportError((err, failedBatches) =>
    log.warn({ err, failedBatches }, 'trace export failed; spans dropped'),
  );
  // Exits 78 for a db connection whose role is privileged. It runs beside start-up: the db node
  // checks its connection's role at first use too, so no query runs on it meanwhile.
  const dbPolicy = { allowPrivileged: config.dbAllowPrivileged };
  void checkDbConnectionsAtStartup(config.dbConnections, dbPolicy).then((check) => {
    for (const w of check.warnings)
      log.warn({ connection: w.connection, reason: w.reason }, w.message);
    if (check.issues.length > 0) exitWithConfigIssues('linkflow-executor', check.issues);
  });
  if (config.benchSkipCheckpoints)
    log.warn('LINKFLOW_BENCH_SKIP_CHECKPOINTS is on: nodes are not checkpointed (bench only)');
  let stopping = false;
  // Registered before start-up finishes, so an early SIGTERM still shuts down cleanly.
  const shutdown = async (signal: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    log.info(
      { signal, graceMs: config.shutdownGraceMs },
      'shutting down: no new jobs; running executions get the grace period',
    );
    await (await started).stop(config.shutdownGraceMs);
    await tracing.shutdown(2_000);
    process.exit(exitCode);
  };
  // A worker whose fetch loop died takes no more jobs: stop and exit non-zero so the
  // supervisor (compose, systemd, Kubernetes) starts a fresh process.
  const started = startExecutor(config, log, {
    onFatal: () => void shutdown('worker loop failed', 1),
    liveSecrets,
  });
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  started.catch((err: unknown) => {
    log.fatal({ err }, 'executor failed to start');
    process.exit(1);
  });
}

main();
