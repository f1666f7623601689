import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { EXECUTION_STATUSES, jsonHasNul, type ExecutionStatus } from '@linkflow/domain';
import type { ExecutionRepository, Priority } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { IdParams, PageQuery, problemResponses } from '../http/schemas.ts';
import { executionSummaryView, executionView } from './execution-view.ts';
import { startExecution, type StartDeps } from './start-execution.ts';

export interface ExecutionSignals {
  /** Tells executors to abort a running execution now. */
  cancel(executionId: string): Promise<void>;
  /** Tells executors a running execution's timeout changed. */
  timeoutChanged(executionId: string): Promise<void>;
  /** Removes a pending execution's job from the queue (best effort). */
  dequeue(executionId: string): Promise<void>;
  /** W3C trace context of the current span, carried in the job. */
  traceContext(): Record<string, string> | undefined;
}

export interface ExecutionRouteDeps extends StartDeps {
  readonly executions: ExecutionRepository;
  readonly signals: ExecutionSignals;
}

const PriorityType = Type.Union([
  Type.Literal('high'),
  Type.Literal('normal'),
  Type.Literal('low'),
]);
const StartBody = Type.Object(
  {
    workflow_id: Type.String({ minLength: 1, maxLength: 100 }),
    input_data: Type.Optional(Type.Unknown()),
    priority: Type.Optional(PriorityType),
    idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  },
  { additionalProperties: false },
);
const StartHeaders = Type.Object({
  'x-priority': Type.Optional(PriorityType),
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});
const ListQuery = Type.Object({
  ...PageQuery,
  workflow_id: Type.Optional(Type.String({ minLength: 1 })),
  status: Type.Optional(Type.Union(EXECUTION_STATUSES.map((s) => Type.Literal(s)))),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
});

/** Body wins over header; both given and different is a 400 naming the field. */
function pick<T>(body: T | undefined, header: T | undefined, field: string): T | undefined {
  if (body !== undefined && header !== undefined && body !== header) {
    throw apiErrors.invalidRequest([
      { path: `/${field}`, message: `body ${field} and its header disagree` },
    ]);
  }
  return body ?? header;
}

/** Postgres jsonb cannot store NUL characters: refuse them up front rather than fail with 500. */
function checkStorable(inputData: unknown): void {
  if (jsonHasNul(JSON.stringify(inputData ?? null))) {
    throw apiErrors.invalidRequest([
      { path: '/input_data', message: 'must not contain NUL characters (\\u0000)' },
    ]);
  }
}

function startRequest(request: FastifyRequest, deps: ExecutionRouteDeps) {
  const body = request.body as {
    workflow_id: string;
    input_data?: unknown;
    priority?: Priority;
    idempotency_key?: string;
  };
  const headers = request.headers as { 'x-priority'?: Priority; 'idempotency-key'?: string };
  checkStorable(body.input_data);
  return {
    tenantId: principalOf(request).tenantId,
    workflowId: body.workflow_id,
    inputData: body.input_data ?? {},
    priority: pick(body.priority, headers['x-priority'], 'priority') ?? 'normal',
    idempotencyKey: pick(body.idempotency_key, headers['idempotency-key'], 'idempotency_key'),
    trace: deps.signals.traceContext(),
  };
}

async function loadView(deps: ExecutionRouteDeps, tenantId: string, id: string) {
  const detail = await deps.executions.get(tenantId, id);
  if (!detail) throw apiErrors.notFound('execution', id);
  return executionView(detail, detail);
}

export function registerExecutionRoutes(app: FastifyInstance, deps: ExecutionRouteDeps): void {
  const tags = ['executions'];
  app.post(
    '/api/executions',
    {
      config: { scope: 'executions:write' },
      schema: {
        body: StartBody,
        headers: StartHeaders,
        tags,
        response: problemResponses(400, 401, 403, 404, 409, 413, 422),
      },
    },
    async (request, reply) => {
      const { created, execution } = await startExecution(
        deps,
        startRequest(request, deps),
        request.log,
      );
      const view = created
        ? executionView(execution)
        : await loadView(deps, execution.tenantId, execution.id);
      return reply
        .status(created ? 202 : 200)
        .header('location', `/api/executions/${execution.id}`)
        .send(view);
    },
  );

  app.get(
    '/api/executions',
    { config: { scope: 'executions:read' }, schema: { querystring: ListQuery, tags } },
    async (request) => {
      const q = request.query as {
        limit?: number;
        cursor?: string;
        workflow_id?: string;
        status?: ExecutionStatus;
        from?: string;
        to?: string;
      };
      const page = await deps.executions.list(principalOf(request).tenantId, {
        limit: q.limit ?? 50,
        cursor: q.cursor,
        workflowId: q.workflow_id,
        status: q.status,
        createdFrom: q.from === undefined ? undefined : new Date(q.from),
        createdTo: q.to === undefined ? undefined : new Date(q.to),
      });
      return { items: page.items.map(executionSummaryView), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/api/executions/:id',
    {
      config: { scope: 'executions:read' },
      schema: { params: IdParams, tags, response: problemResponses(404) },
    },
    async (request) =>
      loadView(deps, principalOf(request).tenantId, (request.params as { id: string }).id),
  );

  app.post(
    '/api/executions/:id/cancel',
    {
      config: { scope: 'executions:write' },
      schema: { params: IdParams, tags, response: problemResponses(404, 409) },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const tenantId = principalOf(request).tenantId;
      const outcome = await deps.executions.cancel(
        tenantId,
        id,
        deps.clock.now(),
        'cancelled by request',
      );
      if (outcome.outcome === 'not_found') throw apiErrors.notFound('execution', id);
      if (outcome.outcome === 'terminal') throw apiErrors.executionTerminal(id, outcome.status);
      // The cancel is committed: signalling is best effort (the executor's fenced writes
      // stop it anyway; a dequeued-late job finds the execution terminal and is skipped).
      await (outcome.from === 'pending' ? deps.signals.dequeue(id) : deps.signals.cancel(id)).catch(
        (err: unknown) =>
          request.log.warn(
            { err, executionId: id },
            'cancel signal failed; fenced writes will stop the run',
          ),
      );
      return loadView(deps, tenantId, id);
    },
  );

  app.put(
    '/api/executions/:id/timeout',
    {
      config: { scope: 'executions:write' },
      schema: {
        params: IdParams,
        body: Type.Object(
          { timeout_seconds: Type.Integer({ minimum: 1, maximum: 604_800 }) },
          { additionalProperties: false },
        ),
        tags,
        response: problemResponses(400, 404, 409),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const tenantId = principalOf(request).tenantId;
      const { timeout_seconds } = request.body as { timeout_seconds: number };
      const outcome = await deps.executions.setTimeout(tenantId, id, timeout_seconds);
      if (outcome.outcome === 'not_found') throw apiErrors.notFound('execution', id);
      if (outcome.outcome === 'terminal') throw apiErrors.executionTerminal(id, outcome.status);
      if (outcome.from === 'running') {
        await deps.signals
          .timeoutChanged(id)
          .catch((err: unknown) =>
            request.log.warn(
              { err, executionId: id },
              'timeout signal failed; applies when the execution is next taken',
            ),
          );
      }
      return loadView(deps, tenantId, id);
    },
  );
}
