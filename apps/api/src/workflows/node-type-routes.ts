import type { FastifyInstance } from 'fastify';
import type { NodeTypeInfo } from '@linkflow/nodes';

/** `GET /api/node-types`: the enabled node types with their config JSON Schemas. */
export function registerNodeTypeRoutes(
  app: FastifyInstance,
  deps: { list(): readonly NodeTypeInfo[] },
): void {
  app.get(
    '/api/node-types',
    { config: { scope: 'workflows:read' }, schema: { tags: ['workflows'] } },
    () => ({ items: deps.list() }),
  );
}
