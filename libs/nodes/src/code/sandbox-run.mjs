// @ts-check
/**
 * One code-node sandbox run (plain JavaScript: it runs inside worker threads). A fresh QuickJS
 * runtime and context per run, with a memory cap, a stack limit and a deadline enforced by an
 * interrupt handler and by a job-queue loop bounded by the same deadline (async loops stop
 * too). Only JSON text crosses the boundary; `console.*` lines are collected for the host.
 */
import {
  MAX_MESSAGE_CHARS,
  MIB,
  PAGE,
  STACK_BYTES,
  UNPRINTABLE,
  acquireModule,
  capBytesFor,
  describe,
  discardModule,
  installDescribe,
  lengthOf,
  truncate,
  wrapSource,
} from './sandbox-quickjs.mjs';

const JOBS_PER_TURN = 256;
const MAX_LOG_LINES = 100;
const MAX_LOG_CHARS = 2000;
const SAMPLE_EVERY_MS = 10;

/** @typedef {{ type: 'EXECUTION' | 'TIMEOUT' | 'TRANSFORMATION', message: string }} SandboxFailure */
/** @typedef {{ level: 'info' | 'warn' | 'error', line: string }} LogLine */
/** @typedef {{ cpu_ms: number, peak_memory_bytes: number }} Usage */
/** @typedef {{ kind: 'run', id: number, source: string, inputJson: string, nodesJson: string, loop?: { itemJson: string, index: number }, memoryMb: number, timeoutMs: number, queuedMs: number, maxOutputBytes: number }} RunRequest */
/** @typedef {{ kind: 'result', id: number, ok: true, json: string, logs: LogLine[], usage: Usage } | { kind: 'result', id: number, ok: false, error: SandboxFailure, logs: LogLine[], usage: Usage }} RunReply */
/** @typedef {import('quickjs-emscripten').QuickJSContext} QuickJSContext */
/** @typedef {import('quickjs-emscripten').QuickJSRuntime} QuickJSRuntime */
/** @typedef {import('quickjs-emscripten').QuickJSHandle} QuickJSHandle */
/** @typedef {import('./sandbox-quickjs.mjs').SandboxModule} SandboxModule */
/**
 * @typedef {object} RunState
 * @property {QuickJSRuntime} runtime
 * @property {QuickJSContext} ctx
 * @property {QuickJSHandle} render the bounded renderer (see `describe`), installed before user code
 * @property {number} deadline performance.now() value after which the run is interrupted
 * @property {boolean} interrupted the interrupt handler stopped the run
 * @property {LogLine[]} logs
 * @property {number} peakBytes highest sampled "memory used" of the runtime
 * @property {number} nextSampleAt performance.now() value of the next memory sample
 */

/** Disposes a QuickJS value; a failure here means the module state is suspect. */
function release(
  /** @type {SandboxModule} */ mod,
  /** @type {{ dispose(): void } | undefined} */ handle,
) {
  try {
    handle?.dispose();
  } catch {
    mod.dirty = true;
  }
}

/** Installs `console.log/info/warn/error`, collecting bounded lines for the host's ctx.log. */
function installConsole(/** @type {RunState} */ state) {
  const { ctx } = state;
  const consoleHandle = ctx.newObject();
  for (const [name, level] of /** @type {const} */ ([
    ['log', 'info'],
    ['info', 'info'],
    ['warn', 'warn'],
    ['error', 'error'],
  ])) {
    const fn = ctx.newFunction(name, (...args) => {
      if (state.logs.length >= MAX_LOG_LINES) return;
      // Each argument is cut inside the sandbox: a 100 MB string never leaves it.
      const parts = args.map((arg) => describe(ctx, state.render, arg, MAX_LOG_CHARS));
      state.logs.push({ level, line: truncate(parts.join(' '), MAX_LOG_CHARS) });
    });
    ctx.setProp(consoleHandle, name, fn);
    fn.dispose();
  }
  ctx.setProp(ctx.global, 'console', consoleHandle);
  consoleHandle.dispose();
}

/**
 * Classifies a sandbox exception: deadline, memory cap, or the user's own error.
 * @returns {SandboxFailure}
 */
function failureOf(
  /** @type {RunState} */ state,
  /** @type {SandboxModule} */ mod,
  /** @type {QuickJSHandle} */ errorHandle,
  /** @type {RunRequest} */ req,
) {
  if (state.interrupted || performance.now() >= state.deadline) {
    mod.dirty = true;
    return timeoutFailure(req);
  }
  const message = describe(state.ctx, state.render, errorHandle);
  const atCap = mod.memory.buffer.byteLength + PAGE > mod.capBytes;
  const opaque = message === 'null' || message === UNPRINTABLE;
  if (message.startsWith('InternalError: out of memory') || (opaque && atCap)) {
    mod.dirty = true;
    return {
      type: 'EXECUTION',
      message: `code node exceeded its memory limit of ${req.memoryMb} MB`,
    };
  }
  return { type: 'EXECUTION', message };
}

/** @returns {SandboxFailure} */
function timeoutFailure(/** @type {RunRequest} */ req) {
  const queued = Math.round(req.queuedMs);
  const waited = queued >= 1 ? ` (${queued} ms of it waiting for a sandbox)` : '';
  return { type: 'TIMEOUT', message: `code node exceeded ${req.timeoutMs} ms${waited}` };
}

/** @returns {SandboxFailure} */
function oversizeFailure(
  /** @type {number} */ bytes,
  /** @type {RunRequest} */ req,
  atLeast = false,
) {
  return {
    type: 'EXECUTION',
    message: `code node output is ${atLeast ? 'at least ' : ''}${bytes} bytes of JSON, over the ${req.maxOutputBytes}-byte limit`,
  };
}

/**
 * Inside a foreach body, the iteration's `item` (parsed inside the sandbox, as input is) and
 * `index` become globals, so the source reads them as the body's expressions do; a `const
 * item` of its own shadows them. Outside a loop neither exists (`typeof item` is undefined).
 * @returns {QuickJSHandle | undefined} the parse error, if the item's JSON did not parse
 */
function setLoopGlobals(
  /** @type {QuickJSContext} */ ctx,
  /** @type {QuickJSHandle} */ parse,
  /** @type {{ itemJson: string, index: number }} */ loop,
) {
  const text = ctx.newString(loop.itemJson);
  const parsed = ctx.callFunction(parse, ctx.undefined, text);
  text.dispose();
  if (parsed.error) return parsed.error;
  ctx.setProp(ctx.global, 'item', parsed.value);
  parsed.value.dispose();
  const index = ctx.newNumber(loop.index);
  ctx.setProp(ctx.global, 'index', index);
  index.dispose();
  return undefined;
}

/**
 * Compiles the wrapper and calls it with deep copies of input and nodes, parsed inside the
 * sandbox by the pristine `JSON.parse` (only JSON text crosses the boundary).
 * @returns {{ promise: QuickJSHandle } | { error: QuickJSHandle }}
 */
function startCall(
  /** @type {RunState} */ state,
  /** @type {RunRequest} */ req,
  /** @type {QuickJSHandle} */ jsonHandle,
) {
  const { ctx } = state;
  const parse = ctx.getProp(jsonHandle, 'parse');
  /** @type {QuickJSHandle[]} */
  const owned = [parse];
  try {
    /** @type {QuickJSHandle[]} input, then nodes */
    const args = [];
    for (const json of [req.inputJson, req.nodesJson]) {
      const text = ctx.newString(json);
      const parsed = ctx.callFunction(parse, ctx.undefined, text);
      text.dispose();
      if (parsed.error) return { error: parsed.error };
      owned.push(parsed.value);
      args.push(parsed.value);
    }
    if (req.loop !== undefined) {
      const loopError = setLoopGlobals(ctx, parse, req.loop);
      if (loopError !== undefined) return { error: loopError };
    }
    const compiled = ctx.evalCode(wrapSource(req.source), 'code.js');
    if (compiled.error) return { error: compiled.error };
    owned.push(compiled.value);
    const called = ctx.callFunction(compiled.value, ctx.undefined, ...args);
    return called.error ? { error: called.error } : { promise: called.value };
  } finally {
    for (const handle of owned) handle.dispose();
  }
}

/**
 * Drives the job queue until the promise settles, the deadline passes, or nothing is left to run.
 * @returns {{ value: QuickJSHandle } | { error: QuickJSHandle } | { failure: SandboxFailure }}
 */
function settle(
  /** @type {RunState} */ state,
  /** @type {QuickJSHandle} */ promise,
  /** @type {RunRequest} */ req,
) {
  const { ctx, runtime } = state;
  for (;;) {
    const promiseState = ctx.getPromiseState(promise);
    if (promiseState.type === 'fulfilled') return { value: promiseState.value };
    if (promiseState.type === 'rejected') return { error: promiseState.error };
    if (performance.now() >= state.deadline) return { failure: timeoutFailure(req) };
    const jobs = runtime.executePendingJobs(JOBS_PER_TURN);
    if (jobs.error) return { error: jobs.error };
    if (jobs.value === 0) {
      return {
        failure: {
          type: 'TIMEOUT',
          message: `code node's promise never settles (nothing left to run); it would exceed ${req.timeoutMs} ms`,
        },
      };
    }
  }
}

/**
 * Serialises the returned value with the pristine `JSON.stringify` and measures it inside the
 * sandbox: a value over `maxOutputBytes` fails here, before one byte of it is copied out (a
 * string's length is a lower bound of its UTF-8 size; a top-level string is refused before it
 * is even serialised).
 * @returns {{ json: string } | { failure: SandboxFailure } | { error: QuickJSHandle }}
 */
function serialise(
  /** @type {RunState} */ state,
  /** @type {QuickJSHandle} */ value,
  /** @type {{ stringify: QuickJSHandle, req: RunRequest }} */ { stringify, req },
) {
  const { ctx } = state;
  const kind = ctx.typeof(value);
  if (kind === 'undefined') return { json: 'null' };
  if (kind === 'string' && lengthOf(ctx, value) + 2 > req.maxOutputBytes)
    return { failure: oversizeFailure(lengthOf(ctx, value) + 2, req, true) };
  const result = ctx.callFunction(stringify, ctx.undefined, value);
  if (result.error) {
    if (state.interrupted) return { error: result.error };
    const message = describe(ctx, state.render, result.error);
    result.error.dispose();
    return {
      failure: {
        type: 'TRANSFORMATION',
        message: `code node returned a value that is not JSON: ${message}`,
      },
    };
  }
  try {
    if (ctx.typeof(result.value) !== 'string') return { failure: notJson(kind) };
    const length = lengthOf(ctx, result.value);
    if (length > req.maxOutputBytes) return { failure: oversizeFailure(length, req, true) };
    const json = ctx.getString(result.value);
    const bytes = Buffer.byteLength(json);
    return bytes > req.maxOutputBytes ? { failure: oversizeFailure(bytes, req) } : { json };
  } finally {
    result.value.dispose();
  }
}

/** @returns {SandboxFailure} */
function notJson(/** @type {string} */ kind) {
  return {
    type: 'TRANSFORMATION',
    message: `code node returned a value that is not JSON (${kind})`,
  };
}

/** Runs a request inside an already created context. @returns {{ json: string } | { failure: SandboxFailure }} */
function evaluate(
  /** @type {RunState} */ state,
  /** @type {SandboxModule} */ mod,
  /** @type {RunRequest} */ req,
) {
  const { ctx } = state;
  const jsonHandle = ctx.getProp(ctx.global, 'JSON');
  const stringify = ctx.getProp(jsonHandle, 'stringify');
  try {
    installConsole(state);
    const started = startCall(state, req, jsonHandle);
    if ('error' in started) return errorOutcome(state, mod, started.error, req);
    const settled = settle(state, started.promise, req);
    started.promise.dispose();
    if ('failure' in settled) return settled;
    if ('error' in settled) return errorOutcome(state, mod, settled.error, req);
    const serialised = serialise(state, settled.value, { stringify, req });
    settled.value.dispose();
    return 'error' in serialised ? errorOutcome(state, mod, serialised.error, req) : serialised;
  } finally {
    stringify.dispose();
    jsonHandle.dispose();
  }
}

/** @returns {{ failure: SandboxFailure }} */
function errorOutcome(
  /** @type {RunState} */ state,
  /** @type {SandboxModule} */ mod,
  /** @type {QuickJSHandle} */ error,
  /** @type {RunRequest} */ req,
) {
  const failure = failureOf(state, mod, error, req);
  error.dispose();
  return { failure };
}

/**
 * Bytes the runtime holds right now (objects, strings, buffers), or 0 when it cannot tell.
 * Parsed from `dumpMemoryUsage`, which, unlike `computeMemoryUsage`, needs no extra context.
 */
function usedBytes(/** @type {QuickJSRuntime} */ runtime) {
  try {
    const match = /^memory used\s+\d+\s+(\d+)/m.exec(runtime.dumpMemoryUsage());
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * One sandboxed run: fresh runtime and context, limits, evaluation, cleanup. Exported for
 * in-process tests; the runner role calls it for each request.
 * @returns {Promise<RunReply>}
 */
export async function runSandbox(/** @type {RunRequest} */ req) {
  const mod = await acquireModule(capBytesFor(req.memoryMb));
  const started = performance.now();
  const startBytes = mod.memory.buffer.byteLength;
  const runtime = mod.quickjs.newRuntime();
  runtime.setMemoryLimit(req.memoryMb * MIB);
  runtime.setMaxStackSize(STACK_BYTES);
  const ctx = runtime.newContext();
  /** @type {RunState} */
  const state = {
    runtime,
    ctx,
    render: installDescribe(ctx),
    // The deadline counts from the node's request: time spent waiting for a sandbox is spent.
    deadline: started + req.timeoutMs - req.queuedMs,
    interrupted: false,
    logs: [],
    peakBytes: 0,
    nextSampleAt: started + SAMPLE_EVERY_MS,
  };
  runtime.setInterruptHandler(() => onInterrupt(state));
  /** @type {{ json: string } | { failure: SandboxFailure }} */
  let outcome;
  try {
    outcome = evaluate(state, mod, req);
  } catch (err) {
    mod.dirty = true; // a trap inside WebAssembly (e.g. native stack overflow) leaves the module unusable
    outcome = { failure: trapFailure(state, req, err) };
  }
  const grown = mod.memory.buffer.byteLength - startBytes;
  // Estimate: sampled highs, the final size, and how far the linear memory had to grow.
  const peak = Math.max(state.peakBytes, usedBytes(runtime), grown);
  const usage = { cpu_ms: round(performance.now() - started), peak_memory_bytes: peak };
  release(mod, state.render);
  release(mod, ctx);
  release(mod, runtime);
  // A grown module is dropped at once, so its memory goes back instead of waiting for the next run.
  if (grown > 0 || mod.dirty) discardModule();
  const base = { kind: /** @type {const} */ ('result'), id: req.id, logs: state.logs, usage };
  return 'json' in outcome
    ? { ...base, ok: true, json: outcome.json }
    : { ...base, ok: false, error: outcome.failure };
}

/**
 * Called by QuickJS every few thousand operations (also inside async jobs): stops the run at
 * the deadline and samples memory, keeping sampling under ~5% of the run time.
 */
function onInterrupt(/** @type {RunState} */ state) {
  const now = performance.now();
  if (now >= state.deadline) return (state.interrupted = true);
  if (now >= state.nextSampleAt) {
    state.peakBytes = Math.max(state.peakBytes, usedBytes(state.runtime));
    const cost = performance.now() - now;
    state.nextSampleAt = now + Math.max(SAMPLE_EVERY_MS, cost * 20);
  }
  return false;
}

/** @returns {SandboxFailure} */
function trapFailure(
  /** @type {RunState} */ state,
  /** @type {RunRequest} */ req,
  /** @type {unknown} */ err,
) {
  if (state.interrupted) return timeoutFailure(req);
  const message = err instanceof Error ? err.message : String(err);
  return {
    type: 'EXECUTION',
    message: truncate(`code node crashed its sandbox: ${message}`, MAX_MESSAGE_CHARS),
  };
}

function round(/** @type {number} */ ms) {
  return Math.round(ms * 1000) / 1000;
}
