import { Type, type Static } from '@sinclair/typebox';
import type { FieldProblem } from '@linkflow/domain';
import type { NodeDefinition } from '../node-definition.ts';
import { NodeError } from '../node-errors.ts';
import { ExpressionCache } from '../expression/expression-cache.ts';
import { evaluateExpression, isTruthy } from '../expression/expression-nodes.ts';

const NodeIdList = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 1000 });
const RouteName = Type.String({ minLength: 1, maxLength: 100 });

export const RouterConfigSchema = Type.Object(
  {
    routes: Type.Array(
      Type.Object(
        { name: RouteName, expression: Type.String({ minLength: 1, maxLength: 100_000 }) },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
    default: Type.Optional(RouteName),
  },
  { additionalProperties: false },
);
export type RouterConfig = Static<typeof RouterConfigSchema>;

/** Route names must be unique: an edge's `when` names exactly one. */
function duplicateRoutes(config: RouterConfig): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  config.routes.forEach((route, k) => {
    if (seen.has(route.name))
      problems.push({
        path: `/config/routes/${k}/name`,
        message: `duplicate route '${route.name}'`,
      });
    seen.add(route.name);
  });
  return problems;
}

/**
 * `router`: evaluates its routes in order; the first truthy one wins, else `default` (or no
 * route: null). Output `{route}`; edges from it carry `when: "<route name>"`.
 */
export function createRouterNode(
  cache = new ExpressionCache(),
): NodeDefinition<RouterConfig, { route: string | null }> {
  return {
    type: 'router',
    version: 1,
    configSchema: RouterConfigSchema,
    rawFields: ['routes'],
    expressionsOf: (config) =>
      config.routes.map((r, k) => ({
        path: `/config/routes/${k}/expression`,
        expression: r.expression,
      })),
    checkConfig: duplicateRoutes,
    async execute(ctx, config, input) {
      for (const route of config.routes) {
        const value = await evaluateExpression(cache, ctx, { expression: route.expression, input });
        if (isTruthy(value)) return { output: { route: route.name }, usage: {} };
      }
      return { output: { route: config.default ?? null }, usage: {} };
    },
  };
}

export const ReturnConfigSchema = Type.Object(
  { value: Type.Optional(Type.Unknown()) },
  { additionalProperties: false },
);
export type ReturnConfig = Static<typeof ReturnConfigSchema>;

/** `return`: its rendered `value` is its output; the engine then ends the execution with it. */
export function createReturnNode(): NodeDefinition<ReturnConfig, unknown> {
  return {
    type: 'return',
    version: 1,
    configSchema: ReturnConfigSchema,
    rawFields: [],
    execute: (_ctx, config) => Promise.resolve({ output: config.value ?? null, usage: {} }),
  };
}

export const TryConfigSchema = Type.Object(
  {
    try: NodeIdList,
    catch: Type.Optional(NodeIdList),
    finally: Type.Optional(NodeIdList),
    error_scope: Type.Optional(Type.Union([Type.Literal('continue'), Type.Literal('propagate')])),
  },
  { additionalProperties: false },
);
export type TryConfig = Static<typeof TryConfigSchema>;

/**
 * `try`: a scope node. The engine runs its lists (try, then catch on failure, finally always);
 * this execute only answers the success shape, for a try with nothing in it.
 */
export function createTryNode(): NodeDefinition<TryConfig, { ok: boolean; error: null }> {
  return {
    type: 'try',
    version: 1,
    configSchema: TryConfigSchema,
    rawFields: ['try', 'catch', 'finally'],
    execute: () => Promise.resolve({ output: { ok: true, error: null }, usage: {} }),
  };
}

/** Default and ceiling of a foreach's `max_items`. */
export const MAX_FOREACH_ITEMS = 10_000;

export const ForeachConfigSchema = Type.Object(
  {
    items: Type.String({ minLength: 1, maxLength: 100_000 }),
    body: NodeIdList,
    parallel: Type.Optional(Type.Boolean()),
    max_parallel: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    max_items: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_FOREACH_ITEMS })),
  },
  { additionalProperties: false },
);
export type ForeachConfig = Static<typeof ForeachConfigSchema>;

/**
 * `foreach`: evaluates `items` (a JSONata expression that must give an array of at most
 * `max_items`); that array is this execute's output, and the engine then runs `body` once per
 * item. A single non-array value is refused rather than wrapped: it is almost always a mistake.
 */
export function createForeachNode(
  cache = new ExpressionCache(),
): NodeDefinition<ForeachConfig, unknown[]> {
  return {
    type: 'foreach',
    version: 1,
    configSchema: ForeachConfigSchema,
    rawFields: ['items', 'body'],
    expressionsOf: (config) => [{ path: '/config/items', expression: config.items }],
    async execute(ctx, config, input) {
      const items = await evaluateExpression(cache, ctx, { expression: config.items, input });
      if (!Array.isArray(items))
        throw new NodeError('VALIDATION', `foreach items must be an array, got ${typeOf(items)}`, {
          retryable: false,
        });
      const max = config.max_items ?? MAX_FOREACH_ITEMS;
      if (items.length > max)
        throw new NodeError(
          'VALIDATION',
          `foreach has ${items.length} items, more than max_items ${max}`,
          {
            retryable: false,
          },
        );
      return { output: items as unknown[], usage: {} };
    },
  };
}

const typeOf = (value: unknown): string =>
  value === null || value === undefined ? 'null' : typeof value;
