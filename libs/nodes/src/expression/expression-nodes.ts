import { Type, type Static } from '@sinclair/typebox';
import type { NodeContext, NodeDefinition, NodeInput } from '../node-definition.ts';
import { ExpressionCache } from './expression-cache.ts';
import { expressionError } from './expression-errors.ts';
import { evaluationLimits } from './evaluation-limits.ts';

export const ExpressionConfigSchema = Type.Object(
  { expression: Type.String({ minLength: 1, maxLength: 100_000 }) },
  { additionalProperties: false },
);
export type ExpressionConfig = Static<typeof ExpressionConfigSchema>;

/** Evaluates within the executor's limits (`ctx.evaluation`), or the defaults for `ctx`. */
export async function evaluateExpression(
  cache: ExpressionCache,
  ctx: NodeContext,
  source: { expression: string; input: NodeInput },
): Promise<unknown> {
  const options =
    ctx.evaluation ?? evaluationLimits({ signal: ctx.signal, timeoutMs: ctx.timeoutMs });
  const result = await cache.get(source.expression).evaluate(source.input, options);
  if (!result.ok) throw expressionError(result.error, ctx.signal);
  return result.value;
}

const shared = {
  version: 1,
  configSchema: ExpressionConfigSchema,
  rawFields: ['expression'],
  expressionsOf: (config: ExpressionConfig) => [
    { path: '/config/expression', expression: config.expression },
  ],
} as const;

/** `transform`: evaluates a JSONata expression over the context; the value is the output. */
export function createTransformNode(
  cache = new ExpressionCache(),
): NodeDefinition<ExpressionConfig, unknown> {
  return {
    ...shared,
    type: 'transform',
    async execute(ctx, config, input) {
      const value = await evaluateExpression(cache, ctx, { expression: config.expression, input });
      return { output: value === undefined ? null : value, usage: {} };
    },
  };
}

/** `condition`: evaluates to `{result: boolean}` (JSONata truthiness) and drives `when` edges. */
export function createConditionNode(
  cache = new ExpressionCache(),
): NodeDefinition<ExpressionConfig, { result: boolean }> {
  return {
    ...shared,
    type: 'condition',
    async execute(ctx, config, input) {
      const value = await evaluateExpression(cache, ctx, { expression: config.expression, input });
      return { output: { result: isTruthy(value) }, usage: {} };
    },
  };
}

/** JSONata's boolean cast: empty arrays/strings, 0, null and undefined are false. */
export function isTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(isTruthy);
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return Boolean(value);
}
