import type { Worker, WorkerOptions } from 'node:worker_threads';
import { NodeError, abortError } from '../node-errors.ts';
import {
  isRunnerMessage,
  spawnSandboxWorker,
  type RunReply,
  type RunRequest,
  type RunnerMessage,
} from './sandbox-protocol.ts';

/** Sizing of a {@link SandboxPool}. */
export interface SandboxPoolOptions {
  /** Worker threads, each running one sandbox at a time. */
  readonly size: number;
  /** Memory of the QuickJS module a fresh worker prepares (the common case reuses it). */
  readonly defaultMemoryMb: number;
  /** Largest `memoryMb` a run may ask for; sizes the workers' own V8 heap limit. */
  readonly maxMemoryMb: number;
  /** Extra time after a run's deadline before its worker is terminated (default 250 ms). */
  readonly graceMs?: number;
  /** Starts one worker (default: `sandbox-worker.mjs`); tests pass failing workers. */
  readonly spawn?: (options: WorkerOptions) => Worker;
}

/** One sandbox run: the request without the fields the pool assigns. */
export type SandboxJob = Omit<RunRequest, 'kind' | 'id'>;

/** A point-in-time view of the pool for `health()`. */
export interface SandboxPoolStats {
  readonly size: number;
  readonly alive: number;
  readonly ready: number;
  readonly busy: number;
  readonly queued: number;
  readonly closed: boolean;
}

interface Task {
  readonly id: number;
  readonly job: SandboxJob;
  readonly signal: AbortSignal;
  readonly resolve: (reply: RunReply) => void;
  readonly reject: (err: NodeError) => void;
  readonly onAbort: () => void;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  retired: boolean;
  /** The last uncaught error the worker reported, for the "died" message. */
  error: string | undefined;
  task: Task | undefined;
  timer: NodeJS.Timeout | undefined;
}

const DEFAULT_GRACE_MS = 250;
const MAX_BOOT_FAILURES = 3;
/** After this long, a pool whose workers failed to boot tries again. */
const REVIVE_AFTER_MS = 5_000;

/**
 * A fixed-size pool of sandbox workers (`sandbox-worker.mjs`), so user code never runs on the
 * host's event loop. Runs queue while every worker is busy. A run whose signal aborts, or
 * whose worker does not answer by its deadline plus a grace period, loses its worker:
 * the worker is terminated and replaced, and the pool keeps serving. Idle workers are unref'd,
 * so an idle pool never keeps the process alive.
 */
export class SandboxPool {
  readonly #options: SandboxPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  #nextId = 1;
  #closed = false;
  #bootFailures = 0;
  #lastBootError = '';
  #lastBootFailureAt = 0;

  constructor(options: SandboxPoolOptions) {
    this.#options = options;
    for (let i = 0; i < options.size; i++) this.#slots.push(this.#spawn());
  }

  /**
   * Runs one job in the next free worker.
   * @returns the worker's reply (success or a sandbox failure decided in the worker)
   * @throws NodeError CANCELLATION/TIMEOUT from `abortError(signal)` when the signal aborts;
   *   TIMEOUT when the worker misses its deadline; EXECUTION when the worker dies.
   */
  run(job: SandboxJob, signal: AbortSignal): Promise<RunReply> {
    if (this.#closed) return Promise.reject(closedError());
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (this.#bootFailures >= MAX_BOOT_FAILURES && !this.#revive())
      return Promise.reject(this.#unavailableError());
    return new Promise<RunReply>((resolve, reject) => {
      const task: Task = {
        id: this.#nextId++,
        job,
        signal,
        resolve,
        reject,
        onAbort: () => this.#abort(task),
      };
      signal.addEventListener('abort', task.onAbort, { once: true });
      this.#queue.push(task);
      this.#pump();
    });
  }

  /** Counts for health reporting. */
  stats(): SandboxPoolStats {
    const live = this.#slots.filter((slot) => !slot.retired);
    return {
      size: this.#options.size,
      alive: live.length,
      ready: live.filter((slot) => slot.ready).length,
      busy: live.filter((slot) => slot.task !== undefined).length,
      queued: this.#queue.length,
      closed: this.#closed,
    };
  }

  /** Rejects queued and running jobs with CANCELLATION and terminates every worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const task of this.#queue.splice(0)) this.#settle(task, closedError());
    const exits = this.#slots.map((slot) => {
      slot.retired = true;
      clearTimeout(slot.timer);
      if (slot.task) this.#settle(slot.task, closedError());
      return slot.worker.terminate();
    });
    await Promise.allSettled(exits);
  }

  #spawn(): Slot {
    const spawn = this.#options.spawn ?? spawnSandboxWorker;
    const worker = spawn({
      workerData: { role: 'runner', defaultMemoryMb: this.#options.defaultMemoryMb },
      resourceLimits: { maxOldGenerationSizeMb: 64 + 4 * this.#options.maxMemoryMb },
    });
    const slot: Slot = {
      worker,
      ready: false,
      retired: false,
      error: undefined,
      task: undefined,
      timer: undefined,
    };
    worker.on('message', (msg: unknown) => {
      if (isRunnerMessage(msg)) this.#onMessage(slot, msg);
    });
    worker.on('error', (err) => {
      slot.error = err.message;
    });
    worker.on('exit', (code) => this.#onExit(slot, code));
    worker.unref();
    return slot;
  }

  #onMessage(slot: Slot, msg: RunnerMessage): void {
    if (slot.retired) return;
    if (msg.kind === 'ready') {
      slot.ready = true;
      this.#bootFailures = 0;
      this.#pump();
      return;
    }
    const task = slot.task;
    if (!task || task.id !== msg.id) return;
    clearTimeout(slot.timer);
    slot.task = undefined;
    slot.timer = undefined;
    slot.worker.unref();
    task.signal.removeEventListener('abort', task.onAbort);
    task.resolve(msg);
    this.#pump();
  }

  #onExit(slot: Slot, code: number): void {
    if (slot.retired) return;
    const detail = slot.error ?? `exit code ${code}`;
    if (!slot.ready) {
      this.#bootFailures++;
      this.#lastBootError = detail;
      this.#lastBootFailureAt = Date.now();
    }
    const task = slot.task;
    this.#replace(slot);
    if (task)
      this.#settle(
        task,
        new NodeError('EXECUTION', `code sandbox worker died: ${detail}`, { retryable: false }),
      );
    if (this.#bootFailures >= MAX_BOOT_FAILURES) {
      for (const queued of this.#queue.splice(0)) this.#settle(queued, this.#unavailableError());
    }
  }

  /** Terminates a slot's worker and puts a fresh one in its place (unless the pool is closed). */
  #replace(slot: Slot): void {
    slot.retired = true;
    clearTimeout(slot.timer);
    void slot.worker.terminate();
    const index = this.#slots.indexOf(slot);
    if (index < 0 || this.#closed) return;
    if (this.#bootFailures >= MAX_BOOT_FAILURES) {
      this.#slots.splice(index, 1);
      return;
    }
    this.#slots[index] = this.#spawn();
  }

  #abort(task: Task): void {
    const queued = this.#queue.indexOf(task);
    if (queued >= 0) this.#queue.splice(queued, 1);
    const slot = this.#slots.find((candidate) => candidate.task === task);
    if (slot) this.#replace(slot);
    this.#settle(task, abortError(task.signal));
    this.#pump();
  }

  /** The worker did not answer by deadline + grace: it is stuck in native code or dead. */
  #backstop(slot: Slot): void {
    const task = slot.task;
    if (!task || slot.retired) return;
    this.#replace(slot);
    this.#settle(
      task,
      new NodeError('TIMEOUT', `code node exceeded ${task.job.timeoutMs} ms`, { retryable: false }),
    );
    this.#pump();
  }

  #settle(task: Task, err: NodeError): void {
    task.signal.removeEventListener('abort', task.onAbort);
    task.reject(err);
  }

  /** Hands queued jobs to idle, ready workers; keeps booting workers ref'd while jobs wait. */
  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.retired || !slot.ready || slot.task) continue;
      const task = this.#queue.shift();
      if (!task) break;
      this.#dispatch(slot, task);
    }
    for (const slot of this.#slots) {
      if (slot.task || (!slot.ready && this.#queue.length > 0)) slot.worker.ref();
      else slot.worker.unref();
    }
  }

  #dispatch(slot: Slot, task: Task): void {
    slot.task = task;
    const graceMs = this.#options.graceMs ?? DEFAULT_GRACE_MS;
    slot.timer = setTimeout(() => this.#backstop(slot), task.job.timeoutMs + graceMs);
    const request: RunRequest = { kind: 'run', id: task.id, ...task.job };
    slot.worker.postMessage(request);
  }

  /** Refills the pool after a boot-failure cooldown. @returns whether the pool serves again */
  #revive(): boolean {
    if (Date.now() - this.#lastBootFailureAt < REVIVE_AFTER_MS) return false;
    this.#bootFailures = 0;
    while (this.#slots.length < this.#options.size) this.#slots.push(this.#spawn());
    return true;
  }

  #unavailableError(): NodeError {
    return new NodeError(
      'EXECUTION',
      `code sandbox workers fail to start: ${this.#lastBootError || 'unknown error'}`,
      { retryable: true },
    );
  }
}

function closedError(): NodeError {
  return new NodeError('CANCELLATION', 'code node was closed', { retryable: false });
}
