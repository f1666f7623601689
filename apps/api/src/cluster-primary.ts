import cluster, { type Worker } from 'node:cluster';
import type { FastifyBaseLogger } from 'fastify';
import { serveClusterMetrics } from '@linkflow/telemetry';

/** A worker that exits with this code refused its configuration: the whole API stops with it. */
const CONFIG_EXIT = 78;
/** How long a stopping worker may finish its requests before it is killed. */
const STOP_GRACE_MS = 10_000;
/** Pause before replacing a worker that died, so a crash at start cannot spin. */
const RESTART_DELAY_MS = 1_000;
/** The longest pause: workers that keep dying before they listen wait up to this long. */
const MAX_RESTART_DELAY_MS = 60_000;

/**
 * The pause before replacing a dead worker after `failedStarts` workers in a row died before
 * they listened (a port in use, a database out of reach): it doubles with each, so a worker
 * that cannot start does not keep a core busy booting and the log full of its deaths.
 */
export const restartDelayMs = (failedStarts: number): number =>
  Math.min(MAX_RESTART_DELAY_MS, RESTART_DELAY_MS * 2 ** Math.min(failedStarts, 16));

export interface PrimaryOptions {
  readonly workers: number;
  readonly logger: FastifyBaseLogger;
}

/** Workers whose process has not exited (cluster.workers keeps one until its IPC closes too). */
const live = (): Worker[] =>
  Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());

/**
 * The `node:cluster` primary of `API_WORKERS` > 1: it serves nothing itself. It forks the
 * workers (each runs the whole API and listens on the shared port), replaces one that dies,
 * answers their `/metrics` with the merged metrics of all, and on SIGTERM/SIGINT passes the
 * signal on so each shuts down gracefully, exiting once all are gone (0; 78 when a worker
 * refused its configuration).
 */
export function runPrimary(options: PrimaryOptions): void {
  const { logger } = options;
  const stopMetrics = serveClusterMetrics();
  let stopping = false;
  let exitCode = 0;
  const finishWhenEmpty = () => {
    if (live().length > 0) return;
    stopMetrics();
    process.exit(exitCode);
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: live().length }, 'stopping the API workers');
    for (const worker of live()) worker.process.kill(signal);
    setTimeout(() => {
      for (const worker of live()) worker.process.kill('SIGKILL');
    }, STOP_GRACE_MS).unref();
    finishWhenEmpty();
  };
  const listened = new WeakSet<Worker>();
  let failedStarts = 0;
  cluster.on('listening', (worker) => {
    listened.add(worker);
    failedStarts = 0;
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return finishWhenEmpty();
    if (code === CONFIG_EXIT) {
      exitCode = CONFIG_EXIT;
      return stop('SIGTERM');
    }
    const delayMs = listened.has(worker) ? RESTART_DELAY_MS : restartDelayMs(failedStarts++);
    // `pid` is the primary's own (the logger's base): the dead worker's goes under its own key.
    logger.error(
      { worker_pid: worker.process.pid, code, signal, restart_in_ms: delayMs },
      'API worker died; starting another',
    );
    setTimeout(() => stopping || cluster.fork(), delayMs);
  });
  // `on`, not `once`: a second signal must not kill the primary (default action) while its
  // workers still finish their requests (they exit as soon as the primary is gone).
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (let i = 0; i < options.workers; i++) cluster.fork();
  logger.info({ workers: options.workers }, 'API workers started');
}
