import { Type, type Static } from '@sinclair/typebox';
import type { NodeDefinition } from '../node-definition.ts';
import { NodeError } from '../node-errors.ts';

/**
 * `subworkflow` config: the target workflow (same tenant; a `{{ }}` template is resolved when
 * the node runs), an optional pinned version (latest when absent) and the child's input
 * (a template rendered like any templated config; `null` when absent).
 */
export const SubworkflowConfigSchema = Type.Object(
  {
    workflow_id: Type.String({ minLength: 1, maxLength: 200 }),
    version: Type.Optional(Type.Integer({ minimum: 1 })),
    input: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type SubworkflowConfig = Static<typeof SubworkflowConfigSchema>;

/**
 * `subworkflow`: starts a child execution and outputs its output. The registry entry carries
 * the config schema (validated at create); the engine runs these nodes itself, because a
 * child is waited for without holding a worker slot (see the engine's subworkflow runner),
 * so `execute` is reached only where no engine support is wired and fails the node.
 */
export function createSubworkflowNode(): NodeDefinition<SubworkflowConfig, unknown> {
  return {
    type: 'subworkflow',
    version: 1,
    configSchema: SubworkflowConfigSchema,
    rawFields: [],
    ownConcurrency: true,
    execute() {
      return Promise.reject(
        new NodeError(
          'EXECUTION',
          'subworkflow nodes need an engine that starts child executions',
          {
            retryable: false,
          },
        ),
      );
    },
  };
}
