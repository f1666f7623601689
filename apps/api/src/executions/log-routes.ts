import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ExecutionRepository, LogRepository } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { described, IdParams, responses } from '../http/schemas.ts';
import { LogPage, LogQuery } from './execution-schemas.ts';
import { logEntryView } from './execution-view.ts';

/** `GET /api/executions/:id/logs`: stored entries in `seq` order; page with `after`. */
export function registerLogRoutes(
  app: FastifyInstance,
  deps: { executions: ExecutionRepository; logs: LogRepository },
): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/api/executions/:id/logs',
    {
      config: { scope: 'executions:read' },
      schema: {
        params: IdParams,
        querystring: LogQuery,
        tags: ['executions'],
        response: responses({ 200: described(LogPage, 'Log entries in seq order') }, [400, 404]),
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await deps.executions.exists(principalOf(request).tenantId, id)))
        throw apiErrors.notFound('execution', id);
      const q = request.query;
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
