import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import {
  effectiveRetrySpec,
  ERROR_TYPES,
  isRetryableRunError,
  remainingRetryDelaysMs,
  resolveRetryPolicy,
  storedRunError,
  type WorkflowDefinition,
} from '@linkflow/domain';
import type { ExecutionRepository, NodeRunRecord, WorkflowRepository } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { described, IdParams, responses } from '../http/schemas.ts';

export interface TestRetryRouteDeps {
  readonly executions: Pick<ExecutionRepository, 'get'>;
  readonly workflows: Pick<WorkflowRepository, 'pinned'>;
}

const Delay = Type.Integer({ minimum: 0 });

const TestRetryNode = Type.Object({
  node_id: Type.String(),
  type: Type.String(),
  error: Type.Object({
    type: Type.Union(ERROR_TYPES.map((t) => Type.Literal(t))),
    message: Type.String(),
  }),
  retryable: Type.Boolean({
    description: 'the error type is one the engine retries (RETRY_EXHAUSTED: its cause)',
  }),
  policy: Type.Object({
    strategy: Type.Union([Type.Literal('exponential'), Type.Literal('fixed')]),
    max_attempts: Type.Integer({ minimum: 1 }),
    initial_delay_ms: Delay,
    max_delay_ms: Delay,
  }),
  attempts_made: Type.Integer({ minimum: 0 }),
  delays_ms: Type.Array(Delay, {
    description:
      'base backoff before each attempt the policy still allows, without jitter (the engine waits between half and all of each)',
  }),
});

export const TestRetryView = Type.Object({
  execution_id: Type.String(),
  nodes: Type.Array(TestRetryNode),
});

function dryRun(run: NodeRunRecord, definition: WorkflowDefinition): Static<typeof TestRetryNode> {
  const spec = definition.nodes.find((n) => n.id === run.nodeId) ?? {};
  const policy = resolveRetryPolicy(effectiveRetrySpec(spec, definition.settings));
  // The stored JSON is read back as is: any shape (or none) becomes a well-formed error.
  const error = storedRunError(run.error) ?? {
    type: 'UNKNOWN' as const,
    message: 'no error was stored',
  };
  const retryable = isRetryableRunError(error);
  return {
    node_id: run.nodeId,
    type: run.type,
    error: { type: error.type, message: error.message },
    retryable,
    policy: {
      strategy: policy.backoff,
      max_attempts: policy.maxAttempts,
      initial_delay_ms: policy.initialDelayMs,
      max_delay_ms: policy.maxDelayMs,
    },
    attempts_made: run.attempts,
    delays_ms: retryable ? remainingRetryDelaysMs(policy, run.attempts) : [],
  };
}

/**
 * `POST /api/executions/:id/test-retry`: for each failed node run, whether its error is
 * retryable under the node's policy (its own `retry`, else `settings.retry` of the version
 * the execution pinned) and the delays left. A dry run: reads only, starts and writes
 * nothing, so `executions:read` is enough.
 */
export function registerTestRetryRoute(app: FastifyInstance, deps: TestRetryRouteDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/executions/:id/test-retry',
    {
      config: { scope: 'executions:read' },
      schema: {
        params: IdParams,
        tags: ['executions'],
        response: responses(
          { 200: described(TestRetryView, 'Failed node runs, in settle order') },
          [400, 404],
        ),
      },
    },
    async (request) => {
      const { id } = request.params;
      const tenantId = principalOf(request).tenantId;
      const execution = await deps.executions.get(tenantId, id);
      if (!execution) throw apiErrors.notFound('execution', id);
      const { workflowId, workflowVersion } = execution;
      // The pinned version, even once the workflow is deleted (executions outlive it).
      const workflow = await deps.workflows.pinned(tenantId, workflowId, workflowVersion);
      if (!workflow) throw apiErrors.notFound(`workflow version ${workflowVersion} of`, workflowId);
      const failed = execution.nodeRuns.filter((r) => r.status === 'failed');
      return { execution_id: id, nodes: failed.map((r) => dryRun(r, workflow.definition)) };
    },
  );
}
