import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  domainErrors,
  validateWorkflow,
  WorkflowDefinitionSchema,
  type NodeTypeCatalog,
} from '@linkflow/domain';
import type { CredentialStore, TenantDirectory, WorkflowRepository } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { described, IdParams, NoContent, PageQuery, responses } from '../http/schemas.ts';
import { checkSubworkflows } from './subworkflow-check.ts';
import { WorkflowPage, WorkflowView, workflowView } from './workflow-view.ts';

export interface WorkflowRouteDeps {
  readonly workflows: WorkflowRepository;
  readonly catalog: NodeTypeCatalog;
  /** Names tenants for access rules (a db connection reserved for some tenants). */
  readonly tenants: TenantDirectory;
  /** The tenant's credential names and keys: references to others are refused (422). */
  readonly credentials: Pick<CredentialStore, 'keysByName'>;
}

const tags = ['workflows'];

/**
 * Definitions are checked by the domain validator (every problem at once, 422), not by ajv:
 * the body schema only documents them, and `request.body` is unchecked until `validated`.
 */
const acceptAny = () => () => true;

/**
 * The definition, or a 422 naming every problem, including what the tenant may not use and
 * an error workflow (`settings.on_error_workflow_id`) that is not one of the tenant's own
 * (missing, deleted or another tenant's: the answer does not tell which), and
 * `{{ secrets.<name>.<key> }}` naming a credential or key the tenant does not have.
 */
export async function validated(body: unknown, deps: WorkflowRouteDeps, tenantId: string) {
  const [tenant, credentials] = await Promise.all([
    deps.tenants.ref(tenantId),
    deps.credentials.keysByName(tenantId),
  ]);
  const result = validateWorkflow(body, deps.catalog, { tenant, credentials });
  if (!result.ok) throw domainErrors.invalidWorkflow(result.error);
  const onError = result.value.settings?.on_error_workflow_id;
  if (onError !== undefined && !(await deps.workflows.get(tenantId, onError)))
    throw domainErrors.invalidWorkflow([
      {
        path: '/settings/on_error_workflow_id',
        message: `no workflow ${onError} in this tenant`,
      },
    ]);
  return result.value;
}

function registerCreate(app: FastifyInstance, deps: WorkflowRouteDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/workflows',
    {
      config: { scope: 'workflows:write' },
      schema: {
        body: WorkflowDefinitionSchema,
        tags,
        response: responses(
          { 201: described(WorkflowView, 'Created: version 1') },
          [400, 413, 415, 422],
        ),
      },
      validatorCompiler: acceptAny,
    },
    async (request, reply) => {
      const tenantId = principalOf(request).tenantId;
      const definition = await validated(request.body, deps, tenantId);
      await checkSubworkflows(deps.workflows, { tenantId, definition });
      const record = await deps.workflows.create(tenantId, definition);
      return reply
        .status(201)
        .header('location', `/api/workflows/${record.id}`)
        .send(workflowView(record));
    },
  );
}

function registerReads(app: FastifyInstance, deps: WorkflowRouteDeps): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    '/api/workflows',
    {
      config: { scope: 'workflows:read' },
      schema: {
        querystring: Type.Object(PageQuery),
        tags,
        response: responses({ 200: described(WorkflowPage, 'Newest first') }, [400]),
      },
    },
    async (request) => {
      const page = await deps.workflows.list(principalOf(request).tenantId, {
        limit: request.query.limit ?? 50,
        cursor: request.query.cursor,
      });
      return { items: page.items.map(workflowView), next_cursor: page.nextCursor };
    },
  );

  typed.get(
    '/api/workflows/:id',
    {
      config: { scope: 'workflows:read' },
      schema: {
        params: IdParams,
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1 })) }),
        tags,
        response: responses(
          { 200: described(WorkflowView, 'The latest or the asked version') },
          [400, 404],
        ),
      },
    },
    async (request) => {
      const { id } = request.params;
      const { version } = request.query;
      const record = await deps.workflows.get(principalOf(request).tenantId, id, version);
      if (!record)
        throw apiErrors.notFound(
          version === undefined ? 'workflow' : `workflow version ${version} of`,
          id,
        );
      return workflowView(record);
    },
  );
}

function registerNewVersion(app: FastifyInstance, deps: WorkflowRouteDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().put(
    '/api/workflows/:id',
    {
      config: { scope: 'workflows:write' },
      schema: {
        body: WorkflowDefinitionSchema,
        params: IdParams,
        tags,
        response: responses(
          { 200: described(WorkflowView, 'The new version') },
          [400, 404, 413, 415, 422],
        ),
      },
      validatorCompiler: acceptAny,
    },
    async (request) => {
      // acceptAny skips the params too: the id is checked here.
      const { id } = request.params;
      if (id.length === 0 || id.length > 100) throw apiErrors.notFound('workflow', id);
      const tenantId = principalOf(request).tenantId;
      const definition = await validated(request.body, deps, tenantId);
      await checkSubworkflows(deps.workflows, { tenantId, definition, selfId: id });
      const record = await deps.workflows.addVersion(tenantId, id, definition);
      if (!record) throw apiErrors.notFound('workflow', id);
      return workflowView(record);
    },
  );
}

function registerDelete(app: FastifyInstance, deps: WorkflowRouteDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().delete(
    '/api/workflows/:id',
    {
      config: { scope: 'workflows:write' },
      schema: {
        params: IdParams,
        tags,
        response: responses({ 204: NoContent }, [400, 404, 409]),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const outcome = await deps.workflows.delete(principalOf(request).tenantId, id);
      if (outcome === 'not_found') throw apiErrors.notFound('workflow', id);
      if (outcome === 'busy') throw apiErrors.workflowBusy(id);
      return reply.status(204).send(null);
    },
  );
}

/** Create, list, read, version and delete workflows. */
export function registerWorkflowRoutes(app: FastifyInstance, deps: WorkflowRouteDeps): void {
  registerCreate(app, deps);
  registerReads(app, deps);
  registerNewVersion(app, deps);
  registerDelete(app, deps);
}
