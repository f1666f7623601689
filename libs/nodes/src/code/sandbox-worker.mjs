// @ts-check
/**
 * Code-node sandbox worker: runs user JavaScript in QuickJS compiled to WebAssembly.
 *
 * Plain JavaScript on purpose: Node 20 cannot load a `.ts` file in a worker, and this file
 * must run the same under node, tsx and vitest. The message shapes are mirrored by
 * `sandbox-protocol.ts` on the host side; the work is in `sandbox-run.mjs` (runs) and
 * `sandbox-quickjs.mjs` (modules, memory caps, syntax checks).
 *
 * Roles (workerData.role):
 * - `runner`: receives `run` requests on parentPort, answers with one reply per request.
 * - `checker`: receives compile-only syntax checks on `workerData.port` and wakes the
 *   blocked host with `Atomics.notify` on `workerData.flag` (the host waits synchronously).
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  MAX_MESSAGE_CHARS,
  acquireModule,
  capBytesFor,
  checkSyntax,
  discardModule,
  truncate,
} from './sandbox-quickjs.mjs';
import { runSandbox } from './sandbox-run.mjs';

/** @typedef {import('./sandbox-run.mjs').RunRequest} RunRequest */

/** @typedef {import('node:worker_threads').MessagePort} MessagePort */

/**
 * Checker role: answers syntax checks the host waits for synchronously, one at a time.
 * @param {MessagePort} port where requests arrive and answers go
 * @param {Int32Array} flag shared; set to the answered `seq` and notified
 */
export function serveChecks(port, flag) {
  let queue = Promise.resolve();
  port.on('message', (/** @type {{ seq: number, source: string }} */ msg) => {
    queue = queue
      .then(() => checkSyntax(msg.source))
      .catch(() => undefined) // no answer to give: the node's execute still reports syntax errors
      .then((problem) => {
        port.postMessage({ seq: msg.seq, problem });
        Atomics.store(flag, 0, msg.seq);
        Atomics.notify(flag, 0);
      });
  });
}

/**
 * Runner role: one request at a time (the host never sends a second before the reply).
 * @param {MessagePort} port where requests arrive and replies go
 * @param {number} defaultMemoryMb memory cap of the module prepared before `ready`
 */
export async function serveRuns(port, defaultMemoryMb) {
  await acquireModule(capBytesFor(defaultMemoryMb));
  port.on('message', (/** @type {RunRequest} */ req) => {
    void runSandbox(req)
      .catch((/** @type {unknown} */ err) => {
        discardModule();
        const reason = err instanceof Error ? err.message : String(err);
        const message = truncate(`code sandbox failed: ${reason}`, MAX_MESSAGE_CHARS);
        return {
          kind: 'result',
          id: req.id,
          ok: false,
          error: { type: 'EXECUTION', message },
          logs: [],
          usage: { cpu_ms: 0, peak_memory_bytes: 0 },
        };
      })
      .then((reply) => port.postMessage(reply));
  });
  port.postMessage({ kind: 'ready' });
}

/**
 * What the host passes as `workerData` (sandbox-pool.ts for runners, syntax-checker.ts for
 * the checker).
 * @typedef {{ role: 'checker', port: MessagePort, flag: Int32Array } | { role: 'runner', defaultMemoryMb?: number }} SandboxWorkerData
 */

/** `workerData` as the host sends it (it is typed `any`). */
function asWorkerData(/** @type {unknown} */ data) {
  return /** @type {SandboxWorkerData | undefined} */ (data);
}

// On a main thread (tests) there is no parentPort and no role starts.
if (parentPort) {
  const data = asWorkerData(workerData);
  if (data?.role === 'checker') serveChecks(data.port, data.flag);
  else void serveRuns(parentPort, data?.defaultMemoryMb ?? 64);
}
