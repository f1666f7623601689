import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { credentialDataProblems } from '@linkflow/domain';
import type { CredentialStore } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { described, NoContent, PageQuery, responses } from '../http/schemas.ts';
import {
  CreateCredentialBody,
  CredentialPage,
  CredentialView,
  credentialView,
  NameParams,
  ReplaceCredentialBody,
} from './credential-schemas.ts';

export interface CredentialRouteDeps {
  readonly credentials: CredentialStore;
}

const tags = ['credentials'];

/** The rules JSON Schema cannot say (the 64 KiB cap), as a 400 naming the field. */
function checkData(data: unknown): Readonly<Record<string, string>> {
  const problems = credentialDataProblems(data);
  if (problems.length > 0) throw apiErrors.invalidRequest(problems);
  return data as Record<string, string>;
}

/** The cursor of a credential page: the last name, opaque to clients. */
const encodeCursor = (name: string) => Buffer.from(name, 'utf8').toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

function registerWrites(app: FastifyInstance, deps: CredentialRouteDeps): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.post(
    '/api/credentials',
    {
      config: { scope: 'credentials:write' },
      schema: {
        body: CreateCredentialBody,
        tags,
        response: responses(
          { 201: described(CredentialView, 'Created') },
          [400, 409, 413, 415, 503],
        ),
      },
    },
    async (request, reply) => {
      const { name } = request.body;
      const data = checkData(request.body.data);
      const created = await deps.credentials.create(principalOf(request).tenantId, name, data);
      if (created === 'exists') throw apiErrors.credentialExists(name);
      return reply
        .status(201)
        .header('location', `/api/credentials/${name}`)
        .send(credentialView(created));
    },
  );
  typed.put(
    '/api/credentials/:name',
    {
      config: { scope: 'credentials:write' },
      schema: {
        params: NameParams,
        body: ReplaceCredentialBody,
        tags,
        response: responses(
          { 200: described(CredentialView, 'Rotated: new data, same name') },
          [400, 404, 413, 415, 503],
        ),
      },
    },
    async (request) => {
      const { name } = request.params;
      const data = checkData(request.body.data);
      const record = await deps.credentials.replace(principalOf(request).tenantId, name, data);
      if (!record) throw apiErrors.notFound('credential', name);
      return credentialView(record);
    },
  );
  typed.delete(
    '/api/credentials/:name',
    {
      config: { scope: 'credentials:write' },
      schema: {
        params: NameParams,
        tags,
        response: responses({ 204: NoContent }, [400, 404, 409]),
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const outcome = await deps.credentials.delete(principalOf(request).tenantId, name);
      if (outcome.kind === 'not_found') throw apiErrors.notFound('credential', name);
      if (outcome.kind === 'referenced')
        throw apiErrors.credentialInUse(
          name,
          outcome.workflows.map((w) => w.id),
        );
      return reply.status(204).send(null);
    },
  );
}

function registerReads(app: FastifyInstance, deps: CredentialRouteDeps): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    '/api/credentials',
    {
      config: { scope: 'workflows:read' },
      schema: {
        querystring: Type.Object(PageQuery),
        tags,
        response: responses({ 200: described(CredentialPage, 'By name') }, [400]),
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const { cursor } = request.query;
      const items = await deps.credentials.list(principalOf(request).tenantId, {
        limit: limit + 1,
        after: cursor === undefined ? undefined : decodeCursor(cursor),
      });
      const page = items.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(credentialView),
        next_cursor: items.length > limit && last ? encodeCursor(last.name) : null,
      };
    },
  );
  typed.get(
    '/api/credentials/:name',
    {
      config: { scope: 'workflows:read' },
      schema: {
        params: NameParams,
        tags,
        response: responses({ 200: described(CredentialView, 'Never a value') }, [400, 404]),
      },
    },
    async (request) => {
      const { name } = request.params;
      const record = await deps.credentials.get(principalOf(request).tenantId, name);
      if (!record) throw apiErrors.notFound('credential', name);
      return credentialView(record);
    },
  );
}

/** Create, list, read, rotate and delete a tenant's credentials (values never leave). */
export function registerCredentialRoutes(app: FastifyInstance, deps: CredentialRouteDeps): void {
  registerWrites(app, deps);
  registerReads(app, deps);
}
