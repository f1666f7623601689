// Loads @prisma/schema-engine-wasm without Node's experimental Wasm ESM integration.
// The package's entry does `import * as wasm from "./schema_engine_bg.wasm"`, which Node 20
// refuses; we instantiate the module ourselves and hand it to the generated JS glue.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** Filled by the engine's panic hook (`global.PRISMA_WASM_PANIC_REGISTRY.set_message`). */
export const panicRegistry = {
  message: '',
  set_message(value) {
    this.message = String(value);
  },
};

let bindingsPromise;

/** Instantiates the Wasm module once per process and returns the JS bindings. */
export function loadBindings() {
  bindingsPromise ??= instantiate();
  return bindingsPromise;
}

async function instantiate() {
  globalThis.PRISMA_WASM_PANIC_REGISTRY = panicRegistry;
  const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const glue = await import(gluePath);
  const bytes = await readFile(path.join(path.dirname(gluePath), 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue;
}

/**
 * Creates a Wasm schema engine.
 * @param {{ datamodels: [string, string][] | undefined, adapterFactory: object, log: (line: string) => void }} options
 */
export async function createWasmEngine({ datamodels, adapterFactory, log }) {
  const { SchemaEngine } = await loadBindings();
  return SchemaEngine.new({ datamodels }, log, adapterFactory);
}

/** Version hash of the Wasm engine build. */
export async function wasmEngineVersion() {
  const { version } = await loadBindings();
  return version();
}
