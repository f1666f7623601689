import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { uuidv7 } from 'uuidv7';
import { createApiKeyRepository, createDb, type Db } from '@linkflow/store';

/** `apps/<app>/src/<file>` as an absolute path. */
const appFile = (app: string, file: string) =>
  fileURLToPath(new URL(`../apps/${app}/src/${file}`, import.meta.url));

/** A free loopback port (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** An app started the way the Makefile starts it, with its stdout (pino lines) kept. */
export interface AppProcess {
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** stdout lines parsed as JSON (pino), non-JSON lines skipped. */
  json(): Record<string, unknown>[];
}

/**
 * Starts `apps/<app>/src/main.ts` as `make api` / `make executor` do:
 * `node --import tsx --import ./apps/<app>/src/instrumentation.ts …/main.ts`.
 */
export function startApp(app: 'api' | 'executor', env: NodeJS.ProcessEnv): AppProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', appFile(app, 'instrumentation.ts'), appFile(app, 'main.ts')],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  child.stderr?.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
  return {
    child,
    lines,
    json: () =>
      lines.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  };
}

/** Sends SIGTERM and waits for the exit (SIGKILL after `ms`). */
export function stopApp(app: AppProcess, ms = 10_000): Promise<void> {
  const { child } = app;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Waits until `GET <url>/health/ready` answers 200 (or throws naming the app's output). */
export async function waitReady(url: string, app: AppProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (app.child.exitCode !== null)
      throw new TypeError(`app exited ${app.child.exitCode}: ${app.lines.join('\n')}`);
    const ok = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new TypeError(`not ready after ${timeoutMs} ms: ${app.lines.slice(-20).join('\n')}`);
}

/** A tenant with an admin key on the database at `databaseUrl`. */
export async function adminKeyOn(
  databaseUrl: string,
): Promise<{ key: string; close(): Promise<void> }> {
  const db: Db = createDb({ url: databaseUrl, maxConnections: 2 });
  const keys = createApiKeyRepository({ prisma: db.prisma, ids: { next: () => uuidv7() } });
  const tenant = await keys.ensureTenant(`t-${randomUUID()}`);
  const { key } = await keys.createKey(tenant, ['admin']);
  return { key, close: () => db.close() };
}

/** A JSON call to the API with the admin key. */
export async function api(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/**
 * Calls `read` every 100 ms until `done(value)` holds and returns that value; throws naming
 * `what` and the last value after `timeoutMs` (for hooks, where `expect.poll` is not allowed).
 */
export async function waitUntil<T>(
  what: string,
  read: () => T | Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new TypeError(
        `${what}: not reached after ${timeoutMs} ms (last: ${JSON.stringify(value)})`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
