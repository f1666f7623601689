import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from '@sinclair/typebox';
import {
  DEFAULT_PRIORITY,
  findUnstorableText,
  reservedIdempotencyPrefix,
  UNSTORABLE_TEXT_MESSAGE,
} from '@linkflow/domain';
import type { ChildExecutionStore, ExecutionRepository } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { described, IdParams, responses } from '../http/schemas.ts';
import {
  ExecutionPage,
  ExecutionView,
  ListQuery,
  StartBody,
  StartHeaders,
  TimeoutBody,
} from './execution-schemas.ts';
import { cancelChildren } from './cancel-children.ts';
import { executionSummaryView, executionView } from './execution-view.ts';
import { withFamily } from './subworkflow-view.ts';
import { startExecution, type StartDeps, type StartRequest } from './start-execution.ts';

export interface ExecutionSignals {
  /** Tells executors to abort a running execution now. */
  cancel(executionId: string): Promise<void>;
  /** Tells executors a running execution's timeout changed. */
  timeoutChanged(executionId: string): Promise<void>;
  /** Removes a pending execution's job from the queue (best effort). */
  dequeue(executionId: string): Promise<void>;
  /**
   * Tells live log streams a pending execution was cancelled (no executor holds it, so none
   * will say so). Called only after the cancel committed.
   */
  cancelledPending(executionId: string): Promise<void>;
  /** W3C trace context of the current span, carried in the job. */
  traceContext(): Record<string, string> | undefined;
}

export interface ExecutionRouteDeps extends StartDeps {
  readonly executions: ExecutionRepository;
  readonly signals: ExecutionSignals;
  /** The cancel cascade to child executions (the view reads its links with the execution). */
  readonly children: Pick<ChildExecutionStore, 'cancelDescendants' | 'wakeParent'>;
}

/** Body wins over header; both given and different is a 400 naming the field. */
function pick<T>(body: T | undefined, header: T | undefined, field: string): T | undefined {
  if (body !== undefined && header !== undefined && body !== header) {
    throw apiErrors.invalidRequest([
      { path: `/${field}`, message: `body ${field} and its header disagree` },
    ]);
  }
  return body ?? header;
}

/** A client may not use the prefixes of the keys the service gives its own starts. */
function clientKey(key: string | undefined): string | undefined {
  const prefix = key === undefined ? undefined : reservedIdempotencyPrefix(key);
  if (prefix === undefined) return key;
  throw apiErrors.invalidRequest([
    { path: '/idempotency_key', message: `the prefix "${prefix}" is reserved for the service` },
  ]);
}

/**
 * Postgres jsonb cannot store NUL or lone surrogates: refuse them up front rather than fail
 * with 500 (the app-wide check does too; this keeps the route safe on its own).
 */
function checkStorable(inputData: unknown): void {
  const path = findUnstorableText(inputData ?? null);
  if (path !== undefined) {
    throw apiErrors.invalidRequest([
      { path: `/input_data${path === '/' ? '' : path}`, message: UNSTORABLE_TEXT_MESSAGE },
    ]);
  }
}

function startRequest(
  tenantId: string,
  request: { body: Static<typeof StartBody>; headers: Static<typeof StartHeaders> },
  deps: ExecutionRouteDeps,
): StartRequest {
  const { body, headers } = request;
  checkStorable(body.input_data);
  return {
    tenantId,
    workflowId: body.workflow_id,
    inputData: body.input_data ?? {},
    priority: pick(body.priority, headers['x-priority'], 'priority') ?? DEFAULT_PRIORITY,
    idempotencyKey: clientKey(
      pick(body.idempotency_key, headers['idempotency-key'], 'idempotency_key'),
    ),
    trace: deps.signals.traceContext(),
  };
}

/** The execution as GET shows it: one prepared statement reads it with its subworkflow links. */
async function loadView(deps: ExecutionRouteDeps, tenantId: string, id: string) {
  const found = await deps.executions.getWithFamily(tenantId, id);
  if (!found) throw apiErrors.notFound('execution', id);
  return withFamily(executionView(found.detail, found.detail), found.family);
}

const tags = ['executions'];

function registerStart(app: FastifyInstance, deps: ExecutionRouteDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/executions',
    {
      config: { scope: 'executions:write' },
      schema: {
        body: StartBody,
        headers: StartHeaders,
        tags,
        response: responses(
          {
            202: described(ExecutionView, 'Started: the new execution (see its Location)'),
            200: described(ExecutionView, 'A repeated idempotency key: the first execution'),
          },
          [400, 404, 409, 413, 415, 422],
        ),
      },
    },
    async (request, reply) => {
      const { created, execution } = await startExecution(
        deps,
        startRequest(principalOf(request).tenantId, request, deps),
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
}

function registerReads(app: FastifyInstance, deps: ExecutionRouteDeps): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    '/api/executions',
    {
      config: { scope: 'executions:read' },
      schema: {
        querystring: ListQuery,
        tags,
        response: responses({ 200: described(ExecutionPage, 'Newest first') }, [400]),
      },
    },
    async (request) => {
      const q = request.query;
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

  typed.get(
    '/api/executions/:id',
    {
      config: { scope: 'executions:read' },
      schema: {
        params: IdParams,
        tags,
        response: responses({ 200: described(ExecutionView, 'The execution') }, [400, 404]),
      },
    },
    async (request) => loadView(deps, principalOf(request).tenantId, request.params.id),
  );
}

function registerCancel(app: FastifyInstance, deps: ExecutionRouteDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/executions/:id/cancel',
    {
      config: { scope: 'executions:write' },
      schema: {
        params: IdParams,
        tags,
        response: responses(
          { 200: described(ExecutionView, 'The cancelled execution') },
          [400, 404, 409],
        ),
      },
    },
    async (request) => {
      const { id } = request.params;
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
      const signal =
        outcome.from === 'pending'
          ? Promise.all([deps.signals.dequeue(id), deps.signals.cancelledPending(id)])
          : deps.signals.cancel(id);
      await signal.catch((err: unknown) =>
        request.log.warn(
          { err, executionId: id },
          'cancel signal failed; fenced writes stop the run, streams see it on their next check',
        ),
      );
      await cancelChildren(deps, id, request.log);
      return loadView(deps, tenantId, id);
    },
  );
}

function registerTimeout(app: FastifyInstance, deps: ExecutionRouteDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().put(
    '/api/executions/:id/timeout',
    {
      config: { scope: 'executions:write' },
      schema: {
        params: IdParams,
        body: TimeoutBody,
        tags,
        response: responses(
          { 200: described(ExecutionView, 'The execution with its new timeout') },
          [400, 404, 409, 413, 415],
        ),
      },
    },
    async (request) => {
      const { id } = request.params;
      const tenantId = principalOf(request).tenantId;
      const outcome = await deps.executions.setTimeout(tenantId, id, request.body.timeout_seconds);
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

/** Start, list, read, cancel and re-time executions. */
export function registerExecutionRoutes(app: FastifyInstance, deps: ExecutionRouteDeps): void {
  registerStart(app, deps);
  registerReads(app, deps);
  registerCancel(app, deps);
  registerTimeout(app, deps);
}
