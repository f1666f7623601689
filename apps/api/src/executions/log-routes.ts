import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  LOG_LEVELS,
  type ExecutionRepository,
  type LogLevel,
  type LogRepository,
} from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { IdParams, problemResponses } from '../http/schemas.ts';
import { logEntryView } from './execution-view.ts';

const LogQuery = Type.Object({
  level: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)))),
  node_id: Type.Optional(Type.String({ minLength: 1 })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  after: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
});

/** `GET /api/executions/:id/logs`: stored entries in `seq` order; page with `after`. */
export function registerLogRoutes(
  app: FastifyInstance,
  deps: { executions: ExecutionRepository; logs: LogRepository },
): void {
  app.get(
    '/api/executions/:id/logs',
    {
      config: { scope: 'executions:read' },
      schema: {
        params: IdParams,
        querystring: LogQuery,
        tags: ['executions'],
        response: problemResponses(404),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      if (!(await deps.executions.exists(principalOf(request).tenantId, id)))
        throw apiErrors.notFound('execution', id);
      const q = request.query as {
        level?: LogLevel;
        node_id?: string;
        q?: string;
        after?: number;
        limit?: number;
      };
      const limit = q.limit ?? 500;
      const entries = await deps.logs.list(id, {
        minLevel: q.level,
        nodeId: q.node_id,
        q: q.q,
        after: q.after,
        limit,
      });
      const last = entries[entries.length - 1];
      return {
        items: entries.map(logEntryView),
        next_after: entries.length === limit && last ? last.seq : null,
      };
    },
  );
}
