import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { EXECUTION_STATUSES, NODE_STATUSES } from '@linkflow/domain';
import type { ExecutionRepository, ExecutionTimings } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import {
  described,
  IdParams,
  nullable,
  responses,
  stringEnum,
  Timestamp,
} from '../http/schemas.ts';

/** Milliseconds between two instants, or null when one is missing. */
const Millis = nullable(Type.Integer({ minimum: 0 }));

const NodeMetricsView = Type.Object({
  node_id: Type.String(),
  type: Type.String(),
  status: stringEnum(NODE_STATUSES),
  attempts: Type.Integer({ description: 'runs of the node, retries included' }),
  retries: Type.Integer({ description: 'attempts - 1 (0 for a node that never ran)' }),
  started_at: nullable(Timestamp),
  finished_at: nullable(Timestamp),
  duration_ms: { ...Millis, description: 'null until the node settles' },
});

/** `GET /api/executions/:id/metrics` (docs/api.md, Execution metrics). */
export const ExecutionMetricsView = Type.Object({
  execution_id: Type.String(),
  status: stringEnum(EXECUTION_STATUSES),
  created_at: Timestamp,
  started_at: nullable(Timestamp),
  finished_at: nullable(Timestamp),
  queue_wait_ms: { ...Millis, description: 'created_at → started_at; null until it starts' },
  duration_ms: { ...Millis, description: 'started_at → finished_at; null until both exist' },
  total_ms: { ...Millis, description: 'created_at → finished_at; null until it finishes' },
  attempts: Type.Integer({ description: 'node attempts, all nodes' }),
  retries: Type.Integer({ description: 'node retries, all nodes' }),
  nodes: Type.Array(NodeMetricsView),
  cost: Type.Object({
    total: Type.String({ description: 'USD, decimal string' }),
    currency: Type.Literal('USD'),
  }),
});

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
const between = (from: Date | null, to: Date | null): number | null =>
  from === null || to === null ? null : Math.max(0, to.getTime() - from.getTime());

/** The metrics view of an execution's stored timings (no clock: only what is recorded). */
export function executionMetricsView(t: ExecutionTimings): Static<typeof ExecutionMetricsView> {
  const nodes = t.nodeRuns.map((n) => ({
    node_id: n.nodeId,
    type: n.type,
    status: n.status,
    attempts: n.attempts,
    retries: Math.max(0, n.attempts - 1),
    started_at: iso(n.startedAt),
    finished_at: iso(n.finishedAt),
    duration_ms: n.durationMs,
  }));
  return {
    execution_id: t.id,
    status: t.status,
    created_at: t.createdAt.toISOString(),
    started_at: iso(t.startedAt),
    finished_at: iso(t.finishedAt),
    queue_wait_ms: between(t.createdAt, t.startedAt),
    duration_ms: between(t.startedAt, t.finishedAt),
    total_ms: between(t.createdAt, t.finishedAt),
    attempts: nodes.reduce((sum, n) => sum + n.attempts, 0),
    retries: nodes.reduce((sum, n) => sum + n.retries, 0),
    nodes,
    cost: { total: t.costTotal, currency: 'USD' },
  };
}

/** `GET /api/executions/:id/metrics`: per-node durations and attempts, waits, cost. */
export function registerExecutionMetricsRoute(
  app: FastifyInstance,
  deps: { executions: Pick<ExecutionRepository, 'timings'> },
): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/api/executions/:id/metrics',
    {
      config: { scope: 'executions:read' },
      schema: {
        params: IdParams,
        tags: ['executions'],
        response: responses(
          { 200: described(ExecutionMetricsView, 'Timings, attempts and cost') },
          [400, 404],
        ),
      },
    },
    async (request) => {
      const { id } = request.params;
      const timings = await deps.executions.timings(principalOf(request).tenantId, id);
      if (!timings) throw apiErrors.notFound('execution', id);
      return executionMetricsView(timings);
    },
  );
}
