// JSON-RPC 2.0 over stdio (one JSON object per line), the protocol the Prisma CLI speaks to
// its schema-engine child process, forwarded to the Wasm engine.
import { readFile } from 'node:fs/promises';
import readline from 'node:readline';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { createMigrationAwareFactory } from './adapter-factory.mjs';
import { createDatabase } from './cli-commands.mjs';
import { databaseName } from './pg-pools.mjs';
import { createWasmEngine, panicRegistry } from './wasm-engine.mjs';

/** CLI method names that differ from (or are missing in) the Wasm engine. */
const METHOD_ALIASES = { getDatabaseVersion: 'version' };

let printId = 0;

function send(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** Builds the JSON-RPC error object in the shape the CLI decodes (`error.data.*`). */
function toRpcError(error, factory) {
  const original = registryError(error, factory) ?? error;
  const isPanic = original?.name === 'RuntimeError';
  const message = isPanic
    ? panicRegistry.message || String(original.message)
    : String(original?.message ?? original);
  const data = { is_panic: isPanic, message, backtrace: isPanic ? original.stack : undefined };
  if (typeof original?.code === 'string' && /^P\d{4}$/.test(original.code)) {
    data.error_code = original.code;
    data.meta = original.meta ?? {};
  }
  return { code: 4466, message: 'An error happened. Check the data field for details.', data };
}

/** Errors thrown in JS inside the adapter travel through Wasm as `GenericJs` ids. */
function registryError(error, factory) {
  const id = error?.cause?.id ?? error?.id;
  if (typeof id !== 'number' || !factory?.errorRegistry) return undefined;
  return factory.errorRegistry.consumeError(id)?.error;
}

export class RpcServer {
  #args;
  #engine;
  #factory;
  #queue = Promise.resolve();
  #inFlight;

  /** @param {{ datamodels: string[], datasource: object | undefined }} args */
  constructor(args) {
    this.#args = args;
  }

  /** Reads requests until stdin closes; requests run one at a time (the engine is not reentrant). */
  async serve() {
    const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line.trim()) continue;
      const message = JSON.parse(line);
      if (!message.method) continue; // a reply to our `print` request
      this.#queue = this.#queue.then(() => this.#handle(message));
    }
    await this.#queue;
  }

  async #handle({ id, method, params }) {
    this.#inFlight = id;
    let reply;
    try {
      reply = { result: await this.#dispatch(method, params) };
    } catch (error) {
      reply = { error: toRpcError(error, this.#factory) };
    }
    if (this.#inFlight !== id) return; // already answered by failInFlight()
    this.#inFlight = undefined;
    send({ jsonrpc: '2.0', id, ...reply });
  }

  /**
   * Answers the running request with `error`. Used for errors the Wasm engine throws outside
   * the request's promise (e.g. a params deserialization failure inside a future), which
   * otherwise surface only as an uncaught exception.
   */
  failInFlight(error) {
    if (this.#inFlight === undefined) return;
    const id = this.#inFlight;
    this.#inFlight = undefined;
    send({ jsonrpc: '2.0', id, error: toRpcError(error, this.#factory) });
  }

  async #dispatch(method, params) {
    if (method === 'createDatabase') return this.#createDatabase(params);
    if (method === 'diff') return this.#diff(params);
    const engine = await this.#getEngine();
    const name = METHOD_ALIASES[method] ?? method;
    if (typeof engine[name] !== 'function')
      throw new Error(`Method not supported by the Wasm schema engine: ${method}`);
    const result = await engine[name](params);
    return result ?? {};
  }

  /** The Wasm engine returns the diff as `stdout`; the CLI expects it through a `print` request. */
  async #diff(params) {
    const engine = await this.#getEngine();
    const { stdout, ...rest } = await engine.diff(params);
    if (stdout)
      send({
        jsonrpc: '2.0',
        id: `print-${++printId}`,
        method: 'print',
        params: { content: stdout.replace(/\n$/, '') },
      });
    return { ...rest, stdout: null };
  }

  async #createDatabase(params) {
    const url = params?.datasource?.url ?? this.#args.datasource?.url;
    await createDatabase(url);
    return { databaseName: databaseName(url) };
  }

  async #getEngine() {
    if (this.#engine) return this.#engine;
    this.#factory = bindMigrationAwareSqlAdapterFactory(
      createMigrationAwareFactory(this.#args.datasource),
    );
    const datamodels = await Promise.all(
      this.#args.datamodels.map(async (file) => [file, await readFile(file, 'utf8')]),
    );
    this.#engine = await createWasmEngine({
      datamodels: datamodels.length > 0 ? datamodels : undefined,
      adapterFactory: this.#factory,
      log: (line) => logLine(line),
    });
    return this.#engine;
  }

  /**
   * Frees the Wasm engine. Freeing while a request still borrows it throws (we may be
   * interrupted mid-request by a signal); the process is about to exit then, so ignore it.
   */
  close() {
    try {
      this.#engine?.free();
    } catch {
      // engine busy: nothing to release that process exit will not
    }
    this.#engine = undefined;
  }
}

/** The engine logs JSON tracing records, like the native binary's stderr; the CLI reads them. */
function logLine(line) {
  if (line) process.stderr.write(`${line}\n`);
}
