// @ts-check
/**
 * QuickJS modules for the code-node sandbox (plain JavaScript: it runs inside worker threads).
 *
 * Memory: quickjs-emscripten's `setMemoryLimit` bounds single allocations only (QuickJS
 * counts 0 usable bytes per block under emscripten), so each sandbox module gets its own
 * `WebAssembly.Memory` whose `maximum` is the real cap. A module is reused by the next run
 * only when it is clean: same cap, never grew past its initial size, no OOM, interrupt or
 * host-level trap. Every run still gets a fresh QuickJS runtime and context.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC } from 'quickjs-emscripten';

export const MIB = 1024 * 1024;
export const PAGE = 65536;
/** The release-sync build imports a memory of at least 16 MiB (256 pages). */
const BASE_BYTES = 16 * MIB;
/** Linear memory the module needs besides the user's heap: shadow stack, static data, runtime. */
const HEADROOM_BYTES = 8 * MIB;
/** QuickJS stack limit for user code and the compiler. */
export const STACK_BYTES = 512 * 1024;
export const MAX_MESSAGE_CHARS = 2000;
const CHECK_CAP_BYTES = 64 * MIB;

/** @typedef {import('quickjs-emscripten').QuickJSWASMModule} QuickJSWASMModule */
/** @typedef {import('quickjs-emscripten').QuickJSContext} QuickJSContext */
/** @typedef {import('quickjs-emscripten').QuickJSHandle} QuickJSHandle */
/** @typedef {{ quickjs: QuickJSWASMModule, memory: WasmMemory, capBytes: number, dirty: boolean }} SandboxModule */

/**
 * The part of the WebAssembly JS API used here (TypeScript declares it only in `lib.dom`,
 * which the project leaves out).
 * @typedef {{ readonly buffer: ArrayBuffer }} WasmMemory
 * @typedef {object} WasmApi
 * @property {new (descriptor: { initial: number, maximum: number }) => WasmMemory} Memory
 * @property {(bytes: Uint8Array) => Promise<WebAssembly.Module>} compile
 */
const wasm = /** @type {{ WebAssembly: WasmApi }} */ (/** @type {unknown} */ (globalThis))
  .WebAssembly;

/** The user's source becomes the body of an async function; line numbers match the source. */
export function wrapSource(/** @type {string} */ source) {
  return `(async function (input, nodes) {${source}\n})`;
}

/** Linear-memory cap for a run: the user's heap plus headroom, never below the module minimum. */
export function capBytesFor(/** @type {number} */ memoryMb) {
  const bytes = Math.max(BASE_BYTES, memoryMb * MIB + HEADROOM_BYTES);
  return Math.ceil(bytes / PAGE) * PAGE;
}

/** Compiled once per worker; every sandbox module instantiates this. */
const wasmModule = (() => {
  const variantRequire = createRequire(import.meta.resolve('quickjs-emscripten'));
  const path = variantRequire.resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
  return wasm.compile(readFileSync(path));
})();

/** @returns {Promise<SandboxModule>} a new QuickJS instance with its own capped linear memory */
async function newSandboxModule(/** @type {number} */ capBytes) {
  const memory = new wasm.Memory({ initial: BASE_BYTES / PAGE, maximum: capBytes / PAGE });
  const variant = newVariant(RELEASE_SYNC, { wasmModule: await wasmModule, wasmMemory: memory });
  const quickjs = await newQuickJSWASMModuleFromVariant(variant);
  return { quickjs, memory, capBytes, dirty: false };
}

/** @type {SandboxModule | undefined} */
let current;

/** The clean module for this cap, reusing the previous one when allowed. */
export async function acquireModule(/** @type {number} */ capBytes) {
  if (current && !current.dirty && current.capBytes === capBytes) return current;
  current = await newSandboxModule(capBytes);
  return current;
}

/**
 * Marks the current module unusable and lets go of it, so its linear memory (possibly grown to
 * hundreds of MB) can be collected now rather than when the next run replaces it.
 */
export function discardModule() {
  if (current) current.dirty = true;
  current = undefined;
}

/** Shortens text for messages and log lines. */
export function truncate(/** @type {string} */ text, /** @type {number} */ max) {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** What `describe` answers when the value cannot be rendered (e.g. the runtime is out of memory). */
export const UNPRINTABLE = 'unprintable value thrown';

/**
 * Renders a value as text *inside* the sandbox, so at most `max` characters ever leave it (a
 * 100 MB string or error message stays in QuickJS). Evaluated in each fresh context before user
 * code runs: it captures the pristine `JSON.stringify`, `String`, `String.prototype.slice` and
 * `RegExp.prototype.exec`, and reads each user property once.
 */
const DESCRIBE_SOURCE = `(() => {
  const stringify = JSON.stringify;
  const toText = String;
  const slice = Function.prototype.call.bind(String.prototype.slice);
  const exec = Function.prototype.call.bind(RegExp.prototype.exec);
  const cut = (s, max) => (s.length > max ? slice(s, 0, max) + '\u2026' : s);
  return (value, max) => {
    if (typeof value === 'string') return cut(value, max);
    if (value !== null && typeof value === 'object') {
      const message = value.message;
      if (typeof message === 'string') {
        const name = value.name;
        const stack = value.stack;
        const at = typeof stack === 'string' ? exec(/code\\.js:(\\d+):\\d+/, cut(stack, 4000)) : null;
        const head = (typeof name === 'string' ? cut(name, 200) : 'Error') + ': ' + cut(message, max);
        return cut(head + (at ? ' (line ' + at[1] + ')' : ''), max);
      }
    }
    const json = stringify(value);
    return cut(typeof json === 'string' ? json : toText(value), max);
  };
})()`;

/**
 * Installs the bounded renderer in a fresh context (call before user code runs).
 * @returns {QuickJSHandle} the renderer; the caller disposes it
 */
export function installDescribe(/** @type {QuickJSContext} */ ctx) {
  return ctx.unwrapResult(ctx.evalCode(DESCRIBE_SOURCE, 'describe.js'));
}

/** Characters in a QuickJS string, read without copying it out. */
export function lengthOf(/** @type {QuickJSContext} */ ctx, /** @type {QuickJSHandle} */ text) {
  const length = ctx.getProp(text, 'length');
  try {
    return ctx.typeof(length) === 'number' ? ctx.getNumber(length) : Number.POSITIVE_INFINITY;
  } finally {
    length.dispose();
  }
}

/**
 * Renders a sandbox value (usually an error) as a host string of at most `max` (+1) characters,
 * without trusting it: the renderer runs in the sandbox and only its bounded answer is copied.
 */
export function describe(
  /** @type {QuickJSContext} */ ctx,
  /** @type {QuickJSHandle} */ render,
  /** @type {QuickJSHandle} */ handle,
  max = MAX_MESSAGE_CHARS,
) {
  try {
    const limit = ctx.newNumber(max);
    const result = ctx.callFunction(render, ctx.undefined, handle, limit);
    limit.dispose();
    if (result.error) {
      result.error.dispose();
      return UNPRINTABLE;
    }
    const text = result.value;
    try {
      const fits = ctx.typeof(text) === 'string' && lengthOf(ctx, text) <= max + 1;
      return fits ? ctx.getString(text) : UNPRINTABLE;
    } finally {
      text.dispose();
    }
  } catch {
    return UNPRINTABLE;
  }
}

/** Compile-only syntax check: nothing in `source` runs. @returns {string | undefined} the problem */
function compileCheck(/** @type {QuickJSWASMModule} */ quickjs, /** @type {string} */ source) {
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(CHECK_CAP_BYTES / 2);
  runtime.setMaxStackSize(STACK_BYTES);
  const ctx = runtime.newContext();
  const render = installDescribe(ctx);
  try {
    const result = ctx.evalCode(wrapSource(source), 'code.js', { compileOnly: true });
    const problem = result.error ? describe(ctx, render, result.error) : undefined;
    (result.error ?? result.value).dispose();
    return problem;
  } finally {
    render.dispose();
    ctx.dispose();
    runtime.dispose();
  }
}

/** @type {Promise<SandboxModule> | undefined} */
let checkModule;

/**
 * Compile-only check with a module kept for checks; a trap (native stack overflow on absurdly
 * nested source) discards the module. @returns {Promise<string | undefined>} the problem
 */
export async function checkSyntax(/** @type {string} */ source) {
  const mod = await (checkModule ??= newSandboxModule(CHECK_CAP_BYTES));
  try {
    return compileCheck(mod.quickjs, source);
  } catch {
    checkModule = undefined;
    return 'SyntaxError: source could not be compiled (too deeply nested)';
  }
}
