import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { NodeTypeInfo } from '@linkflow/nodes';
import { described, responses } from '../http/schemas.ts';

const NodeTypeList = Type.Object({
  items: Type.Array(
    Type.Object({
      type: Type.String(),
      version: Type.Integer(),
      config_schema: Type.Unknown({ description: "JSON Schema of the type's config" }),
    }),
  ),
});

/** `GET /api/node-types`: the enabled node types with their config JSON Schemas. */
export function registerNodeTypeRoutes(
  app: FastifyInstance,
  deps: { list(): readonly NodeTypeInfo[] },
): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/api/node-types',
    {
      config: { scope: 'workflows:read' },
      schema: {
        tags: ['workflows'],
        response: responses({ 200: described(NodeTypeList, 'The enabled node types') }),
      },
    },
    () => ({ items: [...deps.list()] }),
  );
}
