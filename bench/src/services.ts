import { BenchError } from './bench-error.ts';
import { socketDirFor, viaSocket } from './pg-socket.ts';
import {
  freePort,
  runNodeScript,
  spawnNode,
  waitForReady,
  type ChildHandle,
} from './child-process.ts';

/** The real API and one executor, started by the harness, and an admin key. */
export interface Stack {
  readonly apiUrl: string;
  readonly api: ChildHandle;
  readonly executor: ChildHandle;
  readonly apiKey: string;
  /** Fails when either process died (a crash would otherwise look like a stall). */
  assertAlive(): void;
  stop(): Promise<void>;
}

export interface StackOptions {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly queueName: string;
  readonly executorConcurrency: number;
  /** Run both with `--cpu-prof`, writing profiles into this directory. */
  readonly cpuProfileDir?: string | undefined;
  /** Variables for the executor only (LINKFLOW_BENCH_SKIP_CHECKPOINTS). */
  readonly executorEnv?: Readonly<Record<string, string>>;
  /** Extra environment of the API only (e.g. `API_WORKERS`). */
  readonly apiEnv?: Readonly<Record<string, string>> | undefined;
}

const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

function sharedEnv(options: StackOptions): Record<string, string> {
  const socketDir = socketDirFor(process.env, options.databaseUrl);
  return {
    DATABASE_URL: viaSocket(options.databaseUrl, socketDir),
    REDIS_URL: options.redisUrl,
    LINKFLOW_QUEUE: options.queueName,
    LOG_LEVEL: 'warn',
    // The stream scenarios hold 2,000 sockets of one tenant (the product default is 100).
    API_WS_MAX_STREAMS_PER_TENANT: '10000',
    // large_payload builds a 2 MB output in one JSONata expression: it measures memory, not
    // the 1 s expression ceiling a tenant gets by default.
    LINKFLOW_EXPRESSION_TIMEOUT_MS: '30000',
    // The http nodes of ws_100_subscribers and checkpoint_overhead call the harness's own
    // server on loopback, which the SSRF guard refuses unless allowed.
    LINKFLOW_HTTP_ALLOW: '127.0.0.1',
    ...(process.env['BENCH_OTEL_SDK_DISABLED'] ? { OTEL_SDK_DISABLED: 'true' } : {}),
  };
}

/** Creates an admin key with scripts/create-key.ts (it prints the key alone on the last line). */
async function createAdminKey(databaseUrl: string): Promise<string> {
  const out = await runNodeScript('create-key', ['--import', 'tsx', 'scripts/create-key.ts'], {
    TENANT: 'bench',
    SCOPES: 'admin',
    DATABASE_URL: databaseUrl,
  });
  const key = out.trim().split('\n').at(-1)?.trim();
  if (!key) throw new BenchError(`create-key printed no key:\n${out}`);
  return key;
}

/** Spawns the API and the executor on the given ports (not yet ready). */
function spawnServices(options: StackOptions, ports: { api: number; metrics: number }) {
  const env = sharedEnv(options);
  const prof = options.cpuProfileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`]
    : [];
  const api = spawnNode('api', [...prof, '--import', 'tsx', 'apps/api/src/main.ts'], {
    ...env,
    API_PORT: String(ports.api),
    API_HOST: '127.0.0.1',
    ...options.apiEnv,
  });
  const executor = spawnNode(
    'executor',
    // Same heap budget as `make executor` / `make up` (EXECUTOR_HEAP_MB, default 384).
    [
      ...prof,
      `--max-old-space-size=${process.env['EXECUTOR_HEAP_MB'] ?? 384}`,
      '--import',
      'tsx',
      'apps/executor/src/main.ts',
    ],
    {
      ...env,
      EXECUTOR_METRICS_PORT: String(ports.metrics),
      EXECUTOR_CONCURRENCY: String(options.executorConcurrency),
      EXECUTOR_SHUTDOWN_GRACE_MS: '3000',
      ...options.executorEnv,
    },
  );
  return { api, executor };
}

/**
 * Starts `apps/api` and one `apps/executor` as child processes on free ports and waits for
 * both `/health/ready`.
 * `registerCleanup` gets their stop step as soon as they are spawned.
 * @throws BenchError when either does not become ready (both are stopped again)
 */
export async function startStack(
  options: StackOptions,
  registerCleanup: (name: string, run: () => Promise<void>) => void,
): Promise<Stack> {
  const [apiPort, metricsPort] = [await freePort(), await freePort()];
  const { api, executor } = spawnServices(options, { api: apiPort, metrics: metricsPort });
  const stop = async () => {
    await Promise.all([api.stop(STOP_GRACE_MS), executor.stop(STOP_GRACE_MS)]);
  };
  // Registered before waiting, so a SIGINT during start-up stops them too.
  registerCleanup('stop the API and the executor', stop);
  try {
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await Promise.all([
      waitForReady(api, `${apiUrl}/health/ready`, READY_TIMEOUT_MS),
      waitForReady(executor, `http://127.0.0.1:${metricsPort}/health/ready`, READY_TIMEOUT_MS),
    ]);
    const apiKey = await createAdminKey(options.databaseUrl);
    const assertAlive = () => {
      for (const child of [api, executor]) {
        if (!child.isRunning()) throw new BenchError(`${child.name} died:\n${child.tail()}`);
      }
    };
    return { apiUrl, api, executor, apiKey, assertAlive, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
