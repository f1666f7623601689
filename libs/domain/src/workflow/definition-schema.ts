import { Type, type Static } from '@sinclair/typebox';
import { MAX_WORKER_TAGS, WORKER_TAG_PATTERN } from './worker-tags.ts';

/** Most nodes and edges a workflow may have. */
export const MAX_NODES = 1_000;
export const MAX_EDGES = 5_000;

/**
 * Node id: short, URL-safe, starting with a letter or `_`, and not a name plain objects
 * inherit (`__proto__` as a key of a context object would be lost). Hyphens are allowed
 * (`fetch-order`); an expression reaches such a node with backticks, as JSONata needs for any
 * name that is not an identifier: ``nodes.`fetch-order`.body`` (`nodes.fetch-order` is a
 * subtraction).
 */
export const NODE_ID_PATTERN =
  '^(?!(?:__proto__|constructor|prototype)$)[A-Za-z_][A-Za-z0-9_-]{0,63}$';

/**
 * Longest timeout a definition may ask for (24 h), for a node, a whole execution or a node
 * config such as the http node's. It must stay below 2^31-1 ms: above that Node's timers
 * fire after 1 ms instead of never.
 */
export const MAX_TIMEOUT_MS = 86_400_000;

export const RetryPolicySchema = Type.Object(
  {
    max_attempts: Type.Integer({ minimum: 1, maximum: 20 }),
    backoff: Type.Optional(Type.Union([Type.Literal('exponential'), Type.Literal('fixed')])),
    initial_delay_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    max_delay_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
  },
  { additionalProperties: false },
);

/**
 * A node's own thresholds for its target's circuit breaker (the executor's
 * LINKFLOW_BREAKER_* for the fields it leaves out). Breakers are per target: the node whose
 * call makes the breaker sets them, later nodes calling that target share it as it is.
 */
export const CircuitBreakerSchema = Type.Object(
  {
    error_percent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    volume: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    reset_ms: Type.Optional(Type.Integer({ minimum: 10, maximum: MAX_TIMEOUT_MS })),
    window_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: MAX_TIMEOUT_MS })),
    /** Per call: a call running longer is aborted and counted as a failure (0 = none). */
    timeout_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_TIMEOUT_MS })),
  },
  { additionalProperties: false },
);

export const NodeSpecSchema = Type.Object(
  {
    id: Type.String({ pattern: NODE_ID_PATTERN }),
    type: Type.String({ minLength: 1, maxLength: 64 }),
    config: Type.Record(Type.String(), Type.Unknown()),
    retry: Type.Optional(RetryPolicySchema),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TIMEOUT_MS })),
    circuit_breaker: Type.Optional(CircuitBreakerSchema),
  },
  { additionalProperties: false },
);

export const EdgeSchema = Type.Object(
  {
    from: Type.String({ minLength: 1 }),
    to: Type.String({ minLength: 1 }),
    /** `'true'`/`'false'` (or a boolean) from a condition; a route name from a router. */
    when: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Boolean()]),
    ),
  },
  { additionalProperties: false },
);

/**
 * A budget in USD as a decimal string: at most 7 integer digits and 8 decimals (the cost
 * model's 1e-8 units), so it converts to an exact safe integer of units.
 */
export const MAX_COST_PATTERN = '^(0|[1-9][0-9]{0,6})(\\.[0-9]{1,8})?$';

export const SettingsSchema = Type.Object(
  {
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TIMEOUT_MS })),
    max_concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    fail_fast: Type.Optional(Type.Boolean()),
    /** The retry policy of every node without its own `retry`. */
    retry: Type.Optional(RetryPolicySchema),
    /** Budget (USD): no node starts once the execution's settled nodes cost this much. */
    max_cost: Type.Optional(Type.String({ pattern: MAX_COST_PATTERN })),
    /**
     * A workflow of the same tenant started (input `{execution_id, workflow_id, failed_node,
     * error}`) when an execution of this one ends `failed`.
     */
    on_error_workflow_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** Executors must carry every one of these tags (`EXECUTOR_TAGS`) to run the workflow. */
    worker_tags: Type.Optional(
      Type.Array(Type.String({ pattern: WORKER_TAG_PATTERN }), {
        maxItems: MAX_WORKER_TAGS,
        uniqueItems: true,
      }),
    ),
  },
  { additionalProperties: false },
);

/** A workflow definition as clients send it (docs/api.md, Workflows). */
export const WorkflowDefinitionSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    nodes: Type.Array(NodeSpecSchema, { minItems: 1, maxItems: MAX_NODES }),
    edges: Type.Optional(Type.Array(EdgeSchema, { maxItems: MAX_EDGES })),
    settings: Type.Optional(SettingsSchema),
  },
  { additionalProperties: false },
);

export type RetryPolicySpec = Static<typeof RetryPolicySchema>;
export type CircuitBreakerSpec = Static<typeof CircuitBreakerSchema>;
export type NodeSpec = Static<typeof NodeSpecSchema>;
export type EdgeSpec = Static<typeof EdgeSchema>;
export type WorkflowSettings = Static<typeof SettingsSchema>;
export type WorkflowDefinition = Static<typeof WorkflowDefinitionSchema>;

/** Settings with defaults applied. */
export interface ResolvedSettings {
  readonly timeout_ms: number | undefined;
  readonly max_concurrency: number;
  readonly fail_fast: boolean;
}

export const DEFAULT_MAX_CONCURRENCY = 10;

export function resolveSettings(settings: WorkflowSettings | undefined): ResolvedSettings {
  return {
    timeout_ms: settings?.timeout_ms,
    max_concurrency: settings?.max_concurrency ?? DEFAULT_MAX_CONCURRENCY,
    fail_fast: settings?.fail_fast ?? true,
  };
}
