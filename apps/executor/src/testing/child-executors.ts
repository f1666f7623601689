import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
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

/** The shared setup of an e2e file that crashes executors: a test server and child executors. */
export interface ChildExecutorSuite {
  /** The HTTP test server (started in `beforeAll`). */
  readonly srv: TestServer;
  readonly executors: ChildExecutors;
  /** Calls the test server received whose path mentions `text`. */
  callsWith(text: string): number;
}

/**
 * Starts the test server before the file's tests and, after them, kills every child
 * executor started with prefix `prefix` and closes the server.
 */
export function useChildExecutorSuite(
  prefix: string,
  baseEnv: NodeJS.ProcessEnv,
): ChildExecutorSuite {
  let server: TestServer | undefined;
  const executors = childExecutors(prefix, baseEnv);
  const srv = (): TestServer => {
    if (server === undefined) throw new TypeError('the test server is used before beforeAll');
    return server;
  };
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await executors.killAll();
    await server?.close();
  });
  return {
    get srv() {
      return srv();
    },
    executors,
    callsWith: (text) => srv().calls.filter((c) => c.path.includes(text)).length,
  };
}
