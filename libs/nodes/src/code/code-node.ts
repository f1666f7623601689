import { Type, type Static } from '@sinclair/typebox';
import { AppError, type FieldProblem } from '@linkflow/domain';
import type {
  NodeContext,
  NodeDefinition,
  NodeHealth,
  NodeInput,
  NodeResult,
} from '../node-definition.ts';
import { NodeError, abortError } from '../node-errors.ts';
import { SandboxPool } from './sandbox-pool.ts';
import type { SandboxLogLine } from './sandbox-protocol.ts';
import { SyntaxChecker } from './syntax-checker.ts';

/** Server-side settings of the code node (from the executor's config). */
export interface CodeNodeOptions {
  /** Worker threads running sandboxes; started on the first `execute`. */
  readonly poolSize: number;
  /** `timeout_ms` when the config has none. */
  readonly defaultTimeoutMs: number;
  /** `memory_mb` when the config has none. */
  readonly defaultMemoryMb: number;
  /** Largest `memory_mb` a workflow may ask for. */
  readonly maxMemoryMb: number;
  /** Largest `timeout_ms` a workflow may ask for. */
  readonly maxTimeoutMs: number;
  /** Largest output (UTF-8 bytes of JSON), checked inside the sandbox (default 10 MiB). */
  readonly maxOutputBytes?: number;
  /** Sandboxes one tenant may hold at once (default: half the pool, at least 1). */
  readonly maxPerTenant?: number;
  /** Runs of one tenant that may wait for a sandbox (default 4,096); more fail, retryable. */
  readonly maxQueuedPerTenant?: number;
}

const DEFAULT_MAX_OUTPUT_BYTES = 10 * 1024 * 1024;

/** Longest accepted `source` (characters). */
export const MAX_SOURCE_LENGTH = 100_000;
/** QuickJS's WebAssembly build addresses at most 2 GiB; the sandbox needs some of it itself. */
const MEMORY_CEILING_MB = 2_000;

/**
 * Config schema of the `code` node, version 1, with the server's limits:
 * - `source`: the body of an async function of `input` and `nodes` (`return …`, `await …`).
 * - `memory_mb`: the sandbox's heap cap (QuickJS in WebAssembly; the sandbox never gets less
 *   than its 16 MiB minimum linear memory).
 * - `timeout_ms`: the run's deadline, covering async work.
 */
export function codeConfigSchema(limits: Pick<CodeNodeOptions, 'maxMemoryMb' | 'maxTimeoutMs'>) {
  return Type.Object(
    {
      source: Type.String({ minLength: 1, maxLength: MAX_SOURCE_LENGTH }),
      memory_mb: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.maxMemoryMb })),
      timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: limits.maxTimeoutMs })),
    },
    { additionalProperties: false },
  );
}

/** A validated code node config. */
export type CodeConfig = Static<ReturnType<typeof codeConfigSchema>>;

/** The code node: a NodeDefinition whose optional hooks are all present. */
export type CodeNode = NodeDefinition<CodeConfig, unknown> &
  Required<Pick<NodeDefinition<CodeConfig, unknown>, 'checkConfig' | 'health' | 'close'>>;

interface CodeDeps {
  readonly options: CodeNodeOptions;
  readonly pool: () => SandboxPool;
}

/**
 * The `code` node, version 1: runs user JavaScript in QuickJS compiled to WebAssembly, in a
 * pool of worker threads (never on the host's event loop, never `eval`/`node:vm`). Each run
 * gets a fresh QuickJS runtime with a memory cap, a stack limit and a deadline (an interrupt
 * handler plus a bounded job-queue loop, so async loops stop too). The sandbox has no
 * `require`, `process`, filesystem, network, environment or timers; only JSON data crosses
 * the boundary, and `console.*` lines come back through `ctx.log`. The output is measured
 * inside the sandbox (over `maxOutputBytes` it fails there, never copied out), and so are log
 * lines and error messages. The pool is the node's limiter (`ownConcurrency`): a run waiting
 * for a sandbox holds no executor slot, its deadline counts from the request, and tenants
 * take turns with at most `maxPerTenant` sandboxes each.
 * Failures: EXECUTION (user error, memory cap, crashed sandbox), TIMEOUT, TRANSFORMATION
 * (returned value not JSON, input not JSON), CANCELLATION (signal aborted), all non-retryable
 * except EXECUTION "workers fail to start" (infrastructure) and a TimeoutError abort reason.
 * The pool and the syntax checker start lazily, so validating workflows spawns no workers.
 * @throws AppError `INVALID_CODE_OPTIONS` when the options are out of range.
 */
export function createCodeNode(options: CodeNodeOptions): CodeNode {
  assertOptions(options);
  let pool: SandboxPool | undefined;
  let checker: SyntaxChecker | undefined;
  let closed = false;
  const getPool = (): SandboxPool => {
    if (closed) throw new NodeError('CANCELLATION', 'code node was closed', { retryable: false });
    return (pool ??= new SandboxPool({
      size: options.poolSize,
      defaultMemoryMb: options.defaultMemoryMb,
      maxMemoryMb: options.maxMemoryMb,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
      ...(options.maxPerTenant === undefined ? {} : { maxPerTenant: options.maxPerTenant }),
      ...(options.maxQueuedPerTenant === undefined
        ? {}
        : { maxQueuedPerTenant: options.maxQueuedPerTenant }),
    }));
  };
  const deps: CodeDeps = { options, pool: getPool };
  return {
    type: 'code',
    version: 1,
    configSchema: codeConfigSchema(options),
    rawFields: ['source'],
    ownConcurrency: true,
    checkConfig: (config) => checkSource((checker ??= new SyntaxChecker()), config.source),
    execute: (ctx, config, input) => executeCode(ctx, config, input, deps),
    health: () =>
      Promise.resolve(closed ? { ok: false, detail: 'code node closed' } : poolHealth(pool)),
    close: async () => {
      closed = true;
      await Promise.all([pool?.close(), checker?.close()]);
    },
  };
}

function checkSource(checker: SyntaxChecker, source: string): readonly FieldProblem[] {
  if (typeof source !== 'string' || source.length === 0 || source.length > MAX_SOURCE_LENGTH)
    return [];
  const problem = checker.check(source);
  return problem === undefined ? [] : [{ path: '/config/source', message: problem }];
}

async function executeCode(
  ctx: NodeContext,
  config: CodeConfig,
  input: NodeInput,
  deps: CodeDeps,
): Promise<NodeResult<unknown>> {
  if (ctx.signal.aborted) throw abortError(ctx.signal);
  const { options } = deps;
  const timeoutMs = Math.min(config.timeout_ms ?? options.defaultTimeoutMs, options.maxTimeoutMs);
  const request = {
    tenantId: ctx.tenantId,
    timeoutMs,
    // Serialised when a sandbox is free: a waiting run holds no copy of its input.
    prepare: () => ({
      source: config.source,
      inputJson: toJson(input.input, 'input'),
      nodesJson: toJson(input.nodes, 'nodes'),
      ...(input.index === undefined
        ? {}
        : { loop: { itemJson: toJson(input.item, 'item'), index: input.index } }),
      memoryMb: Math.min(config.memory_mb ?? options.defaultMemoryMb, options.maxMemoryMb),
      timeoutMs,
      maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    }),
  };
  const reply = await deps.pool().run(request, ctx.signal);
  forwardLogs(ctx, reply.logs);
  if (!reply.ok) throw new NodeError(reply.error.type, reply.error.message, { retryable: false });
  return { output: fromJson(reply.json), usage: { ...reply.usage } };
}

/** A deep JSON copy for the sandbox; `undefined` becomes `null`. */
function toJson(value: unknown, what: string): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new NodeError('TRANSFORMATION', `code node ${what} is not JSON: ${reason}`, {
      retryable: false,
      cause: err,
    });
  }
}

function fromJson(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch (err) {
    throw new NodeError('TRANSFORMATION', 'code node returned a value that is not JSON', {
      retryable: false,
      cause: err,
    });
  }
}

function forwardLogs(ctx: NodeContext, logs: readonly SandboxLogLine[]): void {
  for (const entry of logs) ctx.log(entry.level, entry.line, { source: 'console' });
}

function poolHealth(pool: SandboxPool | undefined): NodeHealth {
  if (!pool) return { ok: true, detail: 'sandbox pool not started (starts on first run)' };
  const stats = pool.stats();
  const detail = `${stats.alive}/${stats.size} workers alive, ${stats.ready} ready, ${stats.busy} busy, ${stats.queued} queued`;
  return { ok: !stats.closed && stats.alive === stats.size, detail };
}

function assertOptions(options: CodeNodeOptions): void {
  const problems: string[] = [];
  const positive = (name: keyof CodeNodeOptions, max = Number.MAX_SAFE_INTEGER) => {
    const value = options[name] ?? 0;
    if (!Number.isInteger(value) || value < 1 || value > max)
      problems.push(`${name} must be an integer in 1..${max}`);
  };
  positive('poolSize', 256);
  positive('maxMemoryMb', MEMORY_CEILING_MB);
  positive('maxTimeoutMs');
  positive('defaultMemoryMb', options.maxMemoryMb);
  positive('defaultTimeoutMs', options.maxTimeoutMs);
  for (const name of ['maxOutputBytes', 'maxPerTenant', 'maxQueuedPerTenant'] as const)
    if (options[name] !== undefined) positive(name);
  if (problems.length > 0) {
    throw new AppError(
      'INVALID_CODE_OPTIONS',
      `code node options are invalid: ${problems.join('; ')}`,
      { kind: 'internal' },
    );
  }
}
