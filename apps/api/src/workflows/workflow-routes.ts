import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  domainErrors,
  validateWorkflow,
  WorkflowDefinitionSchema,
  type NodeTypeCatalog,
} from '@linkflow/domain';
import type { TenantDirectory, WorkflowRepository } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { IdParams, PageQuery, problemResponses } from '../http/schemas.ts';
import { workflowView } from './workflow-view.ts';

export interface WorkflowRouteDeps {
  readonly workflows: WorkflowRepository;
  readonly catalog: NodeTypeCatalog;
  /** Names tenants for access rules (a db connection reserved for some tenants). */
  readonly tenants: TenantDirectory;
}

/** Bodies are checked by the domain validator (every problem at once, 422), not by ajv. */
const acceptAny = () => () => true;

/** The definition, or a 422 naming every problem, including what the tenant may not use. */
async function validated(body: unknown, deps: WorkflowRouteDeps, tenantId: string) {
  const tenant = await deps.tenants.ref(tenantId);
  const result = validateWorkflow(body, deps.catalog, { tenant });
  if (!result.ok) throw domainErrors.invalidWorkflow(result.error);
  return result.value;
}

export function registerWorkflowRoutes(app: FastifyInstance, deps: WorkflowRouteDeps): void {
  const { workflows } = deps;
  const bodySchema = { body: WorkflowDefinitionSchema };

  app.post(
    '/api/workflows',
    {
      config: { scope: 'workflows:write' },
      schema: {
        ...bodySchema,
        tags: ['workflows'],
        response: problemResponses(400, 401, 403, 413, 422),
      },
      validatorCompiler: acceptAny,
    },
    async (request, reply) => {
      const definition = await validated(request.body, deps, principalOf(request).tenantId);
      const record = await workflows.create(principalOf(request).tenantId, definition);
      return reply
        .status(201)
        .header('location', `/api/workflows/${record.id}`)
        .send(workflowView(record));
    },
  );

  app.get(
    '/api/workflows',
    {
      config: { scope: 'workflows:read' },
      schema: { querystring: Type.Object(PageQuery), tags: ['workflows'] },
    },
    async (request) => {
      const query = request.query as { limit?: number; cursor?: string };
      const page = await workflows.list(principalOf(request).tenantId, {
        limit: query.limit ?? 50,
        cursor: query.cursor,
      });
      return { items: page.items.map(workflowView), next_cursor: page.nextCursor };
    },
  );

  app.get(
    '/api/workflows/:id',
    {
      config: { scope: 'workflows:read' },
      schema: {
        params: IdParams,
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
        tags: ['workflows'],
        response: problemResponses(404),
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { version } = request.query as { version?: number };
      const record = await workflows.get(principalOf(request).tenantId, id, version);
      if (!record)
        throw apiErrors.notFound(
          version === undefined ? 'workflow' : `workflow version ${version} of`,
          id,
        );
      return workflowView(record);
    },
  );

  app.put(
    '/api/workflows/:id',
    {
      config: { scope: 'workflows:write' },
      schema: { ...bodySchema, params: IdParams, tags: ['workflows'] },
      validatorCompiler: acceptAny,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      if (typeof id !== 'string' || id.length === 0 || id.length > 100)
        throw apiErrors.notFound('workflow', String(id));
      const definition = await validated(request.body, deps, principalOf(request).tenantId);
      const record = await workflows.addVersion(principalOf(request).tenantId, id, definition);
      if (!record) throw apiErrors.notFound('workflow', id);
      return workflowView(record);
    },
  );

  app.delete(
    '/api/workflows/:id',
    { config: { scope: 'workflows:write' }, schema: { params: IdParams, tags: ['workflows'] } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const outcome = await workflows.delete(principalOf(request).tenantId, id);
      if (outcome === 'not_found') throw apiErrors.notFound('workflow', id);
      if (outcome === 'busy') throw apiErrors.workflowBusy(id);
      return reply.status(204).send();
    },
  );
}
