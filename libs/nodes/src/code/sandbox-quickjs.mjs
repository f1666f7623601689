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
/** @typedef {{ quickjs: QuickJSWASMModule, memory: WebAssembly.Memory, capBytes: number, dirty: boolean }} SandboxModule */

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
  return WebAssembly.compile(readFileSync(path));
})();

/** @returns {Promise<SandboxModule>} a new QuickJS instance with its own capped linear memory */
async function newSandboxModule(/** @type {number} */ capBytes) {
  const memory = new WebAssembly.Memory({ initial: BASE_BYTES / PAGE, maximum: capBytes / PAGE });
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

/** Marks the current module unusable; the next run builds a fresh one. */
export function discardModule() {
  if (current) current.dirty = true;
}

/** Shortens text for messages and log lines. */
export function truncate(/** @type {string} */ text, /** @type {number} */ max) {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Renders a sandbox value (usually an error) as a host string, without trusting it. */
export function describe(/** @type {QuickJSContext} */ ctx, /** @type {QuickJSHandle} */ handle) {
  try {
    const value = ctx.dump(handle);
    if (value && typeof value === 'object' && typeof value.message === 'string') {
      const name = typeof value.name === 'string' ? value.name : 'Error';
      const at = typeof value.stack === 'string' ? /code\.js:(\d+):\d+/.exec(value.stack) : null;
      return truncate(
        `${name}: ${value.message}${at ? ` (line ${at[1]})` : ''}`,
        MAX_MESSAGE_CHARS,
      );
    }
    return truncate(
      typeof value === 'string' ? value : String(JSON.stringify(value)),
      MAX_MESSAGE_CHARS,
    );
  } catch {
    return 'unprintable value thrown';
  }
}

/** Compile-only syntax check: nothing in `source` runs. @returns {string | undefined} the problem */
function compileCheck(/** @type {QuickJSWASMModule} */ quickjs, /** @type {string} */ source) {
  const runtime = quickjs.newRuntime();
  runtime.setMemoryLimit(CHECK_CAP_BYTES / 2);
  runtime.setMaxStackSize(STACK_BYTES);
  const ctx = runtime.newContext();
  try {
    const result = ctx.evalCode(wrapSource(source), 'code.js', { compileOnly: true });
    const problem = result.error ? describe(ctx, result.error) : undefined;
    (result.error ?? result.value).dispose();
    return problem;
  } finally {
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
