import {
  MessageChannel,
  receiveMessageOnPort,
  type MessagePort,
  type Worker,
} from 'node:worker_threads';
import { isCheckReply, spawnSandboxWorker, type CheckRequest } from './sandbox-protocol.ts';

/** How long one check may block the caller (covers the checker's cold start). */
const DEFAULT_WAIT_MS = 5_000;
/** Consecutive unanswered checks after which checking is skipped (execute still reports). */
const MAX_FAILURES = 3;

interface Checker {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly flag: Int32Array;
}

/**
 * Synchronous, compile-only syntax check of code-node source in QuickJS (`evalCode` with
 * `compileOnly`), for `checkConfig`, which cannot be async. The compile runs in a dedicated
 * worker; the caller blocks on `Atomics.wait` until the answer arrives (a few ms warm, one
 * cold start on first use). Nothing in the source is executed, on the host or in the sandbox.
 */
export class SyntaxChecker {
  readonly #waitMs: number;
  #checker: Checker | undefined;
  #seq = 0;
  #failures = 0;

  constructor(waitMs = DEFAULT_WAIT_MS) {
    this.#waitMs = waitMs;
  }

  /**
   * @returns the compile error (e.g. `SyntaxError: unexpected token … (line 3)`), or undefined
   *   when the source compiles, or when the checker cannot answer in time (execute reports then).
   */
  check(source: string): string | undefined {
    if (this.#failures >= MAX_FAILURES) return undefined;
    const checker = (this.#checker ??= startChecker());
    const seq = ++this.#seq;
    const request: CheckRequest = { seq, source };
    checker.port.postMessage(request);
    const deadline = performance.now() + this.#waitMs;
    for (;;) {
      const seen = Atomics.load(checker.flag, 0);
      const received = receiveMessageOnPort(checker.port);
      if (received && isCheckReply(received.message) && received.message.seq === seq) {
        this.#failures = 0;
        return received.message.problem;
      }
      if (received) continue; // a late answer to an abandoned check
      const remaining = deadline - performance.now();
      if (remaining <= 0) return this.#giveUp();
      Atomics.wait(checker.flag, 0, seen, remaining);
    }
  }

  /** Terminates the checker worker (a later check starts a new one). */
  async close(): Promise<void> {
    const checker = this.#checker;
    this.#checker = undefined;
    if (!checker) return;
    checker.port.close();
    await checker.worker.terminate();
  }

  #giveUp(): undefined {
    this.#failures++;
    void this.close();
    return undefined;
  }
}

function startChecker(): Checker {
  const { port1, port2 } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));
  const worker = spawnSandboxWorker({
    workerData: { role: 'checker', port: port2, flag },
    transferList: [port2],
  });
  worker.unref();
  port1.unref();
  return { worker, port: port1, flag };
}
