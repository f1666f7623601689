/**
 * Messages between the host and `sandbox-worker.mjs`. The worker is plain JavaScript (Node 20
 * cannot load TypeScript in a worker), so these types mirror its JSDoc typedefs: change both.
 */

import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { LogLevel } from '@linkflow/domain';

/** The error types a sandbox run can end with (a subset of the domain's ErrorType). */
export type SandboxFailureType = 'EXECUTION' | 'TIMEOUT' | 'TRANSFORMATION';

/** Why a run failed, as decided inside the worker. */
export interface SandboxFailure {
  readonly type: SandboxFailureType;
  readonly message: string;
}

/** One `console.*` line collected in the sandbox (console has no `debug` level here). */
export interface SandboxLogLine {
  readonly level: Exclude<LogLevel, 'debug'>;
  readonly line: string;
}

/** Resource use of one run: sandbox wall time on a dedicated thread, and sampled heap peak. */
export interface SandboxUsage {
  readonly cpu_ms: number;
  readonly peak_memory_bytes: number;
}

/** What the host asks a runner to do. Input and nodes travel as JSON text only. */
export interface RunRequest {
  readonly kind: 'run';
  readonly id: number;
  readonly source: string;
  readonly inputJson: string;
  readonly nodesJson: string;
  /** Inside a foreach body: the item (JSON text) and its index, globals `item` and `index`. */
  readonly loop?: { readonly itemJson: string; readonly index: number };
  readonly memoryMb: number;
  /** The run's whole budget, counted from the node's request to the pool. */
  readonly timeoutMs: number;
  /** Part of `timeoutMs` already spent waiting for a sandbox; the sandbox gets the rest. */
  readonly queuedMs: number;
  /** Largest serialised output (UTF-8 bytes of JSON); checked inside the sandbox. */
  readonly maxOutputBytes: number;
}

/** A runner's answer to one RunRequest. `json` is the returned value serialised in the sandbox. */
export type RunReply =
  | {
      readonly kind: 'result';
      readonly id: number;
      readonly ok: true;
      readonly json: string;
      readonly logs: readonly SandboxLogLine[];
      readonly usage: SandboxUsage;
    }
  | {
      readonly kind: 'result';
      readonly id: number;
      readonly ok: false;
      readonly error: SandboxFailure;
      readonly logs: readonly SandboxLogLine[];
      readonly usage: SandboxUsage;
    };

/** Sent once by a runner when its QuickJS module is loaded. */
export interface ReadyMessage {
  readonly kind: 'ready';
}

/** Everything a runner posts to the host. */
export type RunnerMessage = RunReply | ReadyMessage;

/** A compile-only syntax check sent to the checker worker. */
export interface CheckRequest {
  readonly seq: number;
  readonly source: string;
}

/** The checker's answer; `problem` is undefined when the source compiles. */
export interface CheckReply {
  readonly seq: number;
  readonly problem: string | undefined;
}

/** Narrows an unknown message from a runner. */
export function isRunnerMessage(value: unknown): value is RunnerMessage {
  if (typeof value !== 'object' || value === null || !('kind' in value)) return false;
  return (
    value.kind === 'ready' ||
    (value.kind === 'result' && 'id' in value && typeof value.id === 'number')
  );
}

/** Narrows an unknown message from the checker. */
export function isCheckReply(value: unknown): value is CheckReply {
  return (
    typeof value === 'object' && value !== null && 'seq' in value && typeof value.seq === 'number'
  );
}

/**
 * Starts a sandbox worker. The script is plain JavaScript resolved next to this file, so it
 * loads the same under node, tsx and vitest (Node 20 cannot run TypeScript in a worker).
 * It inherits none of the process's `execArgv`: the process is started with
 * `--import tsx --import ./apps/<app>/src/instrumentation.ts`, and a worker given those
 * tries to load the `.ts` file before tsx's hooks apply to it, and dies.
 */
export function spawnSandboxWorker(options: WorkerOptions): Worker {
  return new Worker(new URL('./sandbox-worker.mjs', import.meta.url), {
    execArgv: [],
    ...options,
  });
}
