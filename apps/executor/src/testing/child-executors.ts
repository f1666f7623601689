import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ExecutorHarness } from './executor-harness.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

/** Executors in child processes, so a test can kill one like a crashed machine. */
export interface ChildExecutors {
  /** Starts `main.ts` with the harness's environment (plus `env`) and an id `<prefix>-<n>`. */
  spawn(h: ExecutorHarness, env?: Record<string, string>): ChildProcess;
  /** SIGKILLs every child started here and waits for each to exit. */
  killAll(): Promise<void>;
}

/** Resolves once `child` has exited, SIGKILLing it first when it still runs. */
export function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * A set of child executors whose ids start with `prefix`. `baseEnv` is the test's own
 * environment (passed in: only tests and config read `process.env`).
 */
export function childExecutors(prefix: string, baseEnv: NodeJS.ProcessEnv): ChildExecutors {
  const children: ChildProcess[] = [];
  return {
    spawn(h, env = {}) {
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
        env: { ...baseEnv, ...h.env, EXECUTOR_ID: `${prefix}-${children.length}`, ...env },
        stdio: 'ignore',
      });
      children.push(child);
      return child;
    },
    async killAll() {
      await Promise.all(children.map(killed));
    },
  };
}
