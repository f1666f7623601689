import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { BenchError } from './bench-error.ts';
import { REPO_ROOT } from './options.ts';
import { sleep } from './stats.ts';

const TAIL_BYTES = 32 * 1024;

/** A process the harness started; it keeps the tail of its output for error messages. */
export interface ChildHandle {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  /** The last ~32 KB of stdout + stderr. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs: number): Promise<void>;
}

/** Starts `node <args>` in the repo root with `env` added to the harness's environment. */
export function spawnNode(
  name: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): ChildHandle {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new BenchError(`${name}: could not start`);
  let buffer = '';
  const keep = (chunk: Buffer) => {
    buffer = (buffer + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let running = true;
  child.once('exit', () => (running = false));
  // 'close' comes after 'exit' once stdout/stderr are drained, so the tail is complete.
  const exited = new Promise<number | string>((resolve) => {
    child.once('close', (code, signal) => {
      running = false;
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const stop = async (graceMs: number) => {
    if (!running) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => running && child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    name,
    pid: child.pid,
    process: child,
    exited,
    isRunning: () => running,
    tail: () => buffer,
    stop,
  };
}

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Polls `url` until it answers 200.
 * @throws BenchError when the child exits first or `timeoutMs` passes (with its output tail)
 */
export async function waitForReady(
  child: ChildHandle,
  url: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.isRunning()) {
      throw new BenchError(`${child.name} exited before it was ready:\n${child.tail()}`);
    }
    if (await isReady(url)) return;
    await sleep(200);
  }
  throw new BenchError(
    `${child.name} not ready at ${url} within ${timeoutMs} ms:\n${child.tail()}`,
  );
}

/** Resident set size of a process in MB, from /proc/<pid>/status (VmRSS). */
export async function readRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new BenchError(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** Runs `node <args>` to completion and returns its stdout. */
export async function runNodeScript(
  name: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<string> {
  const child = spawnNode(name, args, env);
  let stdout = '';
  child.process.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const code = await child.exited;
  if (code !== 0) throw new BenchError(`${name} exited with ${code}:\n${child.tail()}`);
  return stdout;
}
