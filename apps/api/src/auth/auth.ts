import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyPrincipal } from '@linkflow/store';
import { apiErrors } from '../http/api-errors.ts';

export const SCOPES = [
  'workflows:read',
  'workflows:write',
  'executions:read',
  'executions:write',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; every `/api` route must declare one (or `public`). */
    scope?: Scope | 'public';
  }
  interface FastifyRequest {
    principal: ApiKeyPrincipal | null;
  }
}

export interface Authenticator {
  authenticate(key: string): Promise<ApiKeyPrincipal | undefined>;
}

/** `admin` implies every scope; otherwise the scope must be listed on the key. */
export function hasScope(principal: ApiKeyPrincipal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}

/**
 * Caches principals by key for a few seconds so hot reads do not hit Postgres for
 * every request. Revoking a key therefore takes up to `ttlMs` to bite.
 */
export function cachedAuthenticator(
  inner: Authenticator,
  ttlMs = 10_000,
  max = 10_000,
): Authenticator {
  const cache = new Map<string, { principal: ApiKeyPrincipal | undefined; until: number }>();
  return {
    async authenticate(key) {
      const now = Date.now();
      const hit = cache.get(key);
      if (hit && hit.until > now) return hit.principal;
      const principal = await inner.authenticate(key);
      if (cache.size >= max) cache.clear();
      cache.set(key, { principal, until: now + ttlMs });
      return principal;
    },
  };
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Deny by default: a `/api` route without a declared scope fails start-up. Each request
 * to a scoped route needs a valid key (401) that carries the scope (403).
 */
export function installAuth(app: FastifyInstance, authenticator: Authenticator): void {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api') && route.config?.scope === undefined)
      throw apiErrors.routeWithoutScope(`${String(route.method)} ${route.url}`);
  });
  app.addHook('onRequest', async (request) => {
    const scope = request.routeOptions.config.scope;
    if (scope === undefined || scope === 'public') return;
    const key = bearer(request);
    const principal = key === undefined ? undefined : await authenticator.authenticate(key);
    if (!principal) throw apiErrors.unauthorized();
    if (!hasScope(principal, scope)) throw apiErrors.forbidden(scope);
    request.principal = principal;
  });
}

/** The authenticated principal of a scoped route (set by the onRequest hook). */
export function principalOf(request: FastifyRequest): ApiKeyPrincipal {
  if (!request.principal) throw apiErrors.unauthorized();
  return request.principal;
}
