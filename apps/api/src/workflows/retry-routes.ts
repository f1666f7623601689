import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { RetryPolicySchema, type RetryPolicySpec } from '@linkflow/domain';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { described, IdParams, responses } from '../http/schemas.ts';
import { validated, type WorkflowRouteDeps } from './workflow-routes.ts';
import { WorkflowView, workflowView } from './workflow-view.ts';

const { properties: limits } = RetryPolicySchema;

/** `PUT /api/workflows/:id/retry`: the default retry policy, `strategy` naming the backoff. */
export const RetryBody = Type.Object(
  {
    strategy: Type.Union([Type.Literal('exponential'), Type.Literal('fixed')]),
    max_attempts: limits.max_attempts,
    initial_delay_ms: limits.initial_delay_ms,
    max_delay_ms: limits.max_delay_ms,
  },
  { additionalProperties: false },
);

/** The body as the definition stores it (`settings.retry`, `backoff` for `strategy`). */
function toSpec(body: Static<typeof RetryBody>): RetryPolicySpec {
  return {
    max_attempts: body.max_attempts,
    backoff: body.strategy,
    ...(body.initial_delay_ms === undefined ? {} : { initial_delay_ms: body.initial_delay_ms }),
    ...(body.max_delay_ms === undefined ? {} : { max_delay_ms: body.max_delay_ms }),
  };
}

/**
 * Stores a new version of the workflow: the latest definition with `settings.retry`
 * replaced, validated like any new version (422), through the same repository path as
 * `PUT /api/workflows/:id`.
 */
export function registerWorkflowRetryRoute(app: FastifyInstance, deps: WorkflowRouteDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().put(
    '/api/workflows/:id/retry',
    {
      config: { scope: 'workflows:write' },
      schema: {
        body: RetryBody,
        params: IdParams,
        tags: ['workflows'],
        response: responses(
          { 200: described(WorkflowView, 'The new version, with settings.retry') },
          [400, 404, 413, 415, 422],
        ),
      },
    },
    async (request) => {
      const { id } = request.params;
      const tenantId = principalOf(request).tenantId;
      const latest = await deps.workflows.get(tenantId, id);
      if (!latest) throw apiErrors.notFound('workflow', id);
      const settings = { ...latest.definition.settings, retry: toSpec(request.body) };
      const definition = await validated({ ...latest.definition, settings }, deps, tenantId);
      const record = await deps.workflows.addVersion(tenantId, id, definition);
      if (!record) throw apiErrors.notFound('workflow', id);
      return workflowView(record);
    },
  );
}
