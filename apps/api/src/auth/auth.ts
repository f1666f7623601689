import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { ApiKeyPrincipal } from '@linkflow/store';
import { apiErrors } from '../http/api-errors.ts';

export const SCOPES = [
  'workflows:read',
  'workflows:write',
  'executions:read',
  'executions:write',
  'credentials:write',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route needs; every `/api` route must declare one (or `public`). */
    scope?: Scope | 'public';
    /**
     * The key may also come as a `token` query parameter (browsers cannot set headers on a
     * WebSocket). The header wins when both are given; logs never show the parameter.
     */
    tokenInQuery?: boolean;
    /**
     * On a `public` route: a valid key sent along sets `request.principal` (an invalid one,
     * or a key store that does not answer within {@link OPTIONAL_AUTH_TIMEOUT_MS}, leaves it
     * null). Only routes that show operators more (`/metrics`) ask for it.
     */
    optionalAuth?: boolean;
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

/** Options of {@link cachedAuthenticator}; the defaults suit production. */
export interface KeyCacheOptions {
  /** How long an answer is trusted: revoking a key takes up to this long to bite. */
  readonly ttlMs?: number;
  /** Valid keys kept, least recently used evicted first. */
  readonly max?: number;
  /** Unknown or revoked keys remembered, in their own LRU so they never evict valid keys. */
  readonly missMax?: number;
  /** Milliseconds clock (tests inject one). */
  readonly now?: () => number;
}

/** Caches hold a digest, never the presented secret, and a 16 KB header costs 64 bytes. */
const digest = (key: string) => createHash('sha256').update(key).digest('hex');

/**
 * Caches principals by key for a few seconds so hot reads do not hit Postgres for every
 * request. Valid keys live in an LRU of `max` entries; unknown keys in a separate, smaller
 * LRU, so a flood of random tokens churns only that one and never evicts a valid key.
 */
export function cachedAuthenticator(
  inner: Authenticator,
  options: KeyCacheOptions = {},
): Authenticator {
  const ttl = options.ttlMs ?? 10_000;
  // ttlResolution 0: read the clock on every check rather than arm a timer per insert.
  const timing = { ttl, ttlResolution: 0, perf: { now: options.now ?? (() => performance.now()) } };
  const valid = new LRUCache<string, ApiKeyPrincipal>({ max: options.max ?? 10_000, ...timing });
  const unknown = new LRUCache<string, true>({ max: options.missMax ?? 1_000, ...timing });
  return {
    async authenticate(key) {
      const id = digest(key);
      const hit = valid.get(id);
      if (hit !== undefined) return hit;
      if (unknown.has(id)) return undefined;
      const principal = await inner.authenticate(key);
      if (principal === undefined) unknown.set(id, true);
      else valid.set(id, principal);
      return principal;
    },
  };
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function queryToken(request: FastifyRequest): string | undefined {
  if (request.routeOptions.config.tokenInQuery !== true) return undefined;
  const token = (request.query as Record<string, unknown> | undefined)?.['token'];
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/** How long a public route waits for the key store before serving the public answer. */
export const OPTIONAL_AUTH_TIMEOUT_MS = 500;

/**
 * The principal of an optional key, or null: no key, an invalid one, or a key store that
 * fails or does not answer in time (Postgres down must not hold up or fail a scrape).
 */
async function optionalPrincipal(
  authenticator: Authenticator,
  key: string | undefined,
): Promise<ApiKeyPrincipal | null> {
  if (key === undefined) return null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), OPTIONAL_AUTH_TIMEOUT_MS);
  });
  const found = authenticator.authenticate(key).catch(() => undefined);
  const principal = await Promise.race([found, late]).finally(() => clearTimeout(timer));
  return principal ?? null;
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
    if (scope === undefined) return;
    if (scope === 'public') {
      if (request.routeOptions.config.optionalAuth === true)
        request.principal = await optionalPrincipal(authenticator, bearer(request));
      return;
    }
    const key = bearer(request) ?? queryToken(request);
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
