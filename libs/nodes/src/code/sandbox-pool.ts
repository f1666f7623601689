import type { Worker, WorkerOptions } from 'node:worker_threads';
import { NodeError, abortError, toNodeError } from '../node-errors.ts';
import { FairQueue } from './fair-queue.ts';
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
  /** Largest `memoryMb` a run may ask for (the sandbox's own WebAssembly memory). */
  readonly maxMemoryMb: number;
  /** Largest output a run may return; sizes the workers' V8 heap limit (default 10 MiB). */
  readonly maxOutputBytes?: number;
  /** Sandboxes one tenant may hold at once (default: half the pool, at least 1). */
  readonly maxPerTenant?: number;
  /** Runs of one tenant waiting at once; more are refused (default {@link DEFAULT_MAX_QUEUED_PER_TENANT}). */
  readonly maxQueuedPerTenant?: number;
  /** Extra time after a run's deadline before its worker is terminated (default 250 ms). */
  readonly graceMs?: number;
  /** Starts one worker (default: `sandbox-worker.mjs`); tests pass failing workers. */
  readonly spawn?: (options: WorkerOptions) => Worker;
}

/** One sandbox run: the request without the fields the pool assigns. */
export type SandboxJob = Omit<RunRequest, 'kind' | 'id' | 'queuedMs'>;

/**
 * A run as a node asks for it. The deadline (`timeoutMs`) counts from this request, so time
 * spent waiting for a sandbox is spent; `prepare` builds the job only when a sandbox is free,
 * so a waiting run holds no serialised copy of its input.
 */
export interface SandboxRequest {
  readonly tenantId: string;
  readonly timeoutMs: number;
  /** @throws NodeError when the job cannot be built (e.g. input that is not JSON) */
  prepare(): SandboxJob;
}

/** A point-in-time view of the pool for `health()`. */
export interface SandboxPoolStats {
  readonly size: number;
  readonly alive: number;
  readonly ready: number;
  readonly busy: number;
  readonly queued: number;
  readonly closed: boolean;
}

/** Runs of one tenant that may wait for a sandbox at once, unless the options say otherwise. */
export const DEFAULT_MAX_QUEUED_PER_TENANT = 4_096;
/** The tenant of runs given as a bare SandboxJob. */
const DEFAULT_TENANT = '';

interface Task {
  readonly id: number;
  readonly request: SandboxRequest;
  /** `performance.now()` of the request: the deadline counts from here. */
  readonly requestedAt: number;
  readonly signal: AbortSignal;
  readonly resolve: (reply: RunReply) => void;
  readonly reject: (err: NodeError) => void;
  readonly onAbort: () => void;
  state: 'queued' | 'running' | 'done';
  /** Ends a queued run at its deadline. */
  expiry: NodeJS.Timeout | undefined;
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

const MIB = 1024 * 1024;
const DEFAULT_MAX_OUTPUT_BYTES = 10 * MIB;
const DEFAULT_GRACE_MS = 250;
/** A run whose sandbox used more than this retires its worker (see `#onMessage`). */
const RECYCLE_AFTER_BYTES = 64 * MIB;
const MAX_BOOT_FAILURES = 3;
/** After this long, a pool whose workers failed to boot tries again. */
const REVIVE_AFTER_MS = 5_000;

/**
 * A fixed-size pool of sandbox workers (`sandbox-worker.mjs`): user code never runs on the
 * host's event loop. Runs wait in a {@link FairQueue}: tenants take turns, none holds more than
 * `maxPerTenant` sandboxes, and a run that waits past its deadline fails with TIMEOUT unrun.
 * A run whose signal aborts, or whose worker misses its deadline plus a grace period, loses
 * its worker (terminated and replaced). Idle workers are unref'd.
 */
export class SandboxPool {
  readonly #options: SandboxPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #queue: FairQueue<Task>;
  #nextId = 1;
  #closed = false;
  #bootFailures = 0;
  #lastBootError = '';
  #lastBootFailureAt = 0;

  constructor(options: SandboxPoolOptions) {
    this.#options = options;
    this.#queue = new FairQueue({
      maxRunningPerTenant: options.maxPerTenant ?? Math.max(1, Math.floor(options.size / 2)),
      maxWaitingPerTenant: options.maxQueuedPerTenant ?? DEFAULT_MAX_QUEUED_PER_TENANT,
    });
    for (let i = 0; i < options.size; i++) this.#slots.push(this.#spawn());
  }

  /**
   * Runs one job in the next free worker, the tenant's turn and cap permitting.
   * @param request a SandboxRequest, or a bare job (tests; one anonymous tenant)
   * @returns the worker's reply (success or a sandbox failure decided in the worker)
   * @throws NodeError CANCELLATION/TIMEOUT from `abortError(signal)` when the signal aborts;
   *   TIMEOUT when the deadline passes while waiting or the worker misses it; EXECUTION when
   *   the worker dies, or (retryable) when the tenant's queue is full.
   */
  run(request: SandboxRequest | SandboxJob, signal: AbortSignal): Promise<RunReply> {
    if (this.#closed) return Promise.reject(closedError());
    if (signal.aborted) return Promise.reject(abortError(signal));
    if (this.#bootFailures >= MAX_BOOT_FAILURES && !this.#revive())
      return Promise.reject(this.#unavailableError());
    const req = 'prepare' in request ? request : bareRequest(request);
    return new Promise<RunReply>((resolve, reject) => {
      const task: Task = {
        id: this.#nextId++,
        request: req,
        requestedAt: performance.now(),
        signal,
        resolve,
        reject,
        onAbort: () => this.#abort(task),
        state: 'queued',
        expiry: undefined,
      };
      if (!this.#queue.push(req.tenantId, task)) {
        reject(queueFullError(this.#options.maxQueuedPerTenant));
        return;
      }
      signal.addEventListener('abort', task.onAbort, { once: true });
      task.expiry = setTimeout(() => this.#expire(task), req.timeoutMs);
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
      queued: this.#queue.size,
      closed: this.#closed,
    };
  }

  /** Rejects queued and running jobs with CANCELLATION and terminates every worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const task of this.#queue.drain()) this.#settle(task, closedError());
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
      resourceLimits: { maxOldGenerationSizeMb: workerHeapMb(this.#options) },
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
    // A worker's dropped sandbox memory goes back only when its V8 collects, which an idle
    // worker may never do: after a big run, a fresh worker gives the memory back now.
    if (msg.usage.peak_memory_bytes > RECYCLE_AFTER_BYTES) this.#replace(slot);
    this.#finish(task);
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
      for (const queued of this.#queue.drain()) this.#settle(queued, this.#unavailableError());
    }
    this.#pump();
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
    this.#queue.remove(task.request.tenantId, task);
    const slot = this.#slots.find((candidate) => candidate.task === task);
    if (slot) this.#replace(slot);
    this.#settle(task, abortError(task.signal));
    this.#pump();
  }

  /** A queued run reached its deadline: it never ran, and never will. */
  #expire(task: Task): void {
    if (task.state !== 'queued') return;
    this.#queue.remove(task.request.tenantId, task);
    this.#settle(task, this.#timeoutError(task));
  }

  /** The worker did not answer by deadline + grace: it is stuck in native code or dead. */
  #backstop(slot: Slot): void {
    const task = slot.task;
    if (!task || slot.retired) return;
    this.#replace(slot);
    this.#settle(task, this.#timeoutError(task));
    this.#pump();
  }

  #timeoutError(task: Task): NodeError {
    const { timeoutMs } = task.request;
    const waited = task.state === 'queued' ? ' while waiting for a sandbox (it did not run)' : '';
    return new NodeError('TIMEOUT', `code node exceeded ${timeoutMs} ms${waited}`, {
      retryable: false,
    });
  }

  /** Ends a task's bookkeeping: its abort listener, its queue timer, its tenant's running count. */
  #finish(task: Task): void {
    if (task.state === 'running') this.#queue.done(task.request.tenantId);
    task.state = 'done';
    clearTimeout(task.expiry);
    task.signal.removeEventListener('abort', task.onAbort);
  }

  #settle(task: Task, err: NodeError): void {
    if (task.state === 'done') return;
    const slot = this.#slots.find((candidate) => candidate.task === task);
    if (slot) slot.task = undefined;
    this.#finish(task);
    task.reject(err);
  }

  /** Hands queued jobs to idle, ready workers; keeps booting workers ref'd while jobs wait. */
  #pump(): void {
    for (const slot of this.#slots) {
      while (!slot.retired && slot.ready && !slot.task) {
        const next = this.#queue.take();
        if (!next) break;
        this.#dispatch(slot, next.item);
      }
    }
    for (const slot of this.#slots) {
      if (slot.task || (!slot.ready && this.#queue.size > 0)) slot.worker.ref();
      else slot.worker.unref();
    }
  }

  /** Starts a task on an idle slot, unless its deadline passed or its job cannot be built. */
  #dispatch(slot: Slot, task: Task): void {
    const queuedMs = performance.now() - task.requestedAt;
    const remainingMs = task.request.timeoutMs - queuedMs;
    if (remainingMs <= 0) {
      this.#queue.done(task.request.tenantId); // taken, but it never runs
      this.#settle(task, this.#timeoutError(task));
      return;
    }
    task.state = 'running';
    let job: SandboxJob;
    try {
      job = task.request.prepare();
    } catch (err) {
      this.#settle(task, toNodeError(err));
      return;
    }
    slot.task = task;
    const graceMs = this.#options.graceMs ?? DEFAULT_GRACE_MS;
    slot.timer = setTimeout(() => this.#backstop(slot), remainingMs + graceMs);
    const request: RunRequest = {
      kind: 'run',
      id: task.id,
      ...job,
      timeoutMs: task.request.timeoutMs,
      queuedMs,
    };
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

/**
 * V8 heap of one worker: QuickJS glue, the input JSON and the reply, which the sandbox caps at
 * `maxOutputBytes` (its WebAssembly memory is outside this heap, capped per run by `memoryMb`).
 */
function workerHeapMb(options: SandboxPoolOptions): number {
  const outputMb = Math.ceil((options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES) / MIB);
  return 128 + 4 * outputMb;
}

function bareRequest(job: SandboxJob): SandboxRequest {
  return { tenantId: DEFAULT_TENANT, timeoutMs: job.timeoutMs, prepare: () => job };
}

function closedError(): NodeError {
  return new NodeError('CANCELLATION', 'code node was closed', { retryable: false });
}

function queueFullError(limit = DEFAULT_MAX_QUEUED_PER_TENANT): NodeError {
  return new NodeError(
    'EXECUTION',
    `code sandbox queue is full for this tenant (${limit} runs waiting); try again later`,
    { retryable: true },
  );
}
