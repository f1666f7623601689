import type { TSchema } from '@sinclair/typebox';
import type { LogLevel, NodeTypeName } from '@linkflow/domain';
import type { Clock, EvaluateOptions, FieldProblem, TenantRef } from '@linkflow/domain';

/** What a node run used; the executor turns it into cost with a rate card. */
export interface NodeUsage {
  cpu_ms?: number;
  peak_memory_bytes?: number;
  net_bytes_in?: number;
  net_bytes_out?: number;
  rows?: number;
  query_ms?: number;
}

/**
 * The evaluation context of expressions: `{input, nodes: {<id>: <output>}, execution}`, plus
 * `item` and `index` inside a foreach body.
 */
export interface NodeInput {
  readonly input: unknown;
  /** The current item of the enclosing foreach (absent outside a loop). */
  readonly item?: unknown;
  /** The current item's position, from 0 (absent outside a loop). */
  readonly index?: number;
  readonly nodes: Readonly<Record<string, unknown>>;
  readonly execution: {
    readonly id: string;
    readonly workflow_id: string;
    readonly attempt: number;
  };
}

/**
 * Everything a node may touch at run time. Nodes never read process.env or build
 * their own clients: the registry's factories get their dependencies explicitly.
 */
export interface NodeContext {
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly nodeId: string;
  /** The tenant whose execution runs this node (per-tenant limits, access checks). */
  readonly tenantId: string;
  readonly attempt: number;
  /** Milliseconds this attempt may take; the executor also aborts `signal` when it passes. */
  readonly timeoutMs: number;
  /**
   * Limits for the expressions the node evaluates: its deadline, the per-evaluation
   * ceiling, `signal`, event-loop turns. The executor sets it; without it only size and
   * depth limits apply.
   */
  readonly evaluation?: EvaluateOptions;
  log(level: LogLevel, message: string, data?: Record<string, unknown>): void;
}

export interface NodeResult<O = unknown> {
  readonly output: O;
  readonly usage: NodeUsage;
}

export interface NodeHealth {
  readonly ok: boolean;
  readonly detail?: string;
}

/**
 * One node type. `configSchema` is validated before enqueue; `checkConfig` adds the
 * rules JSON Schema cannot say (e.g. no `{{ }}` in a SQL query). `rawFields` are config
 * keys the executor must not template-render (expressions, source code, SQL text).
 */
export interface NodeDefinition<C = unknown, O = unknown> {
  /** One of the built-in node types. */
  readonly type: NodeTypeName;
  readonly version: number;
  readonly configSchema: TSchema;
  readonly rawFields: readonly string[];
  /**
   * Top-level config fields whose templates may reference credentials
   * (`{{ secrets.<name>.<key> }}`); the executor resolves them just before the node runs.
   * None when absent: such a node may not mention `secrets` at all.
   */
  readonly secretFields?: readonly string[];
  /**
   * True when the node limits its own concurrency (the code node's sandbox pool and its
   * queue): the executor then runs it without taking one of its slots, so a node waiting for
   * its own resource never blocks other node types. Its timeout still counts from the start.
   */
  readonly ownConcurrency?: boolean;
  /** Expressions inside the config (evaluated by the node itself) to compile at validation. */
  expressionsOf?(config: C): readonly { path: string; expression: string }[];
  checkConfig?(config: C): readonly FieldProblem[];
  /**
   * What a tenant may not use in a config (e.g. a db connection reserved for other tenants).
   * It may see a config that failed `checkConfig` and reports access problems only.
   */
  checkAccess?(
    config: Readonly<Record<string, unknown>>,
    tenant: TenantRef,
  ): readonly FieldProblem[];
  /** Circuit-breaker key (`host:port`, connection name) or undefined when unguarded. */
  breakerKey?(config: C): string | undefined;
  execute(ctx: NodeContext, config: C, input: NodeInput): Promise<NodeResult<O>>;
  health?(): Promise<NodeHealth>;
  close?(): Promise<void>;
}
