import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { RetryPolicySchema, type RetryPolicySpec } from '@linkflow/domain';
import type { WorkflowRecord } from '@linkflow/store';
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

/** Re-reads after a concurrent version this many times before answering 409. */
const MAX_REBASES = 3;

/**
 * One read-modify-write: the latest version with `settings.retry` replaced, stored only if
 * no other version was stored meanwhile (`stale`: a concurrent PUT would be overwritten).
 */
async function withRetry(a: {
  deps: WorkflowRouteDeps;
  tenantId: string;
  id: string;
  spec: RetryPolicySpec;
}): Promise<WorkflowRecord | 'stale'> {
  const latest = await a.deps.workflows.get(a.tenantId, a.id);
  if (!latest) throw apiErrors.notFound('workflow', a.id);
  const settings = { ...latest.definition.settings, retry: a.spec };
  const definition = await validated({ ...latest.definition, settings }, a.deps, a.tenantId);
  const record = await a.deps.workflows.addVersionOn(a.tenantId, a.id, {
    definition,
    basedOn: latest.version,
  });
  if (!record) throw apiErrors.notFound('workflow', a.id);
  return record;
}

/**
 * Stores `spec` as the workflow's `settings.retry` on its latest version, re-read when
 * another version lands in between (409 `WORKFLOW_CHANGING` after {@link MAX_REBASES}).
 */
export async function storeRetryDefault(a: {
  deps: WorkflowRouteDeps;
  tenantId: string;
  id: string;
  spec: RetryPolicySpec;
}): Promise<WorkflowRecord> {
  for (let attempt = 1; ; attempt++) {
    const record = await withRetry(a);
    if (record !== 'stale') return record;
    if (attempt >= MAX_REBASES) throw apiErrors.workflowChanging(a.id);
  }
}

/**
 * Stores a new version of the workflow: the latest definition with `settings.retry`
 * replaced, validated like any new version (422), through the same repository path as
 * `PUT /api/workflows/:id`. A version stored meanwhile is kept: the change is re-applied on
 * top of it (409 when the workflow keeps changing).
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
          [400, 404, 409, 413, 415, 422],
        ),
      },
    },
    async (request) => {
      const { id } = request.params;
      const tenantId = principalOf(request).tenantId;
      const spec = toSpec(request.body);
      return workflowView(await storeRetryDefault({ deps, tenantId, id, spec }));
    },
  );
}
