import type { FastifyInstance } from 'fastify';
import type { FieldProblem } from '@linkflow/domain';
import { apiErrors } from './api-errors.ts';

/**
 * Deepest nesting of arrays and objects a JSON request body may have (the body itself is
 * level 1). Deeper values overflow the stack of every recursive consumer downstream
 * (`JSON.stringify`, the canonical idempotency hash, Postgres' jsonb parser, JSONata), so
 * they are refused while parsing, before any of them sees the value.
 */
export const MAX_JSON_DEPTH = 64;

type Json = unknown;

/** JSON Pointer segment (RFC 6901) of one key. */
const segment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

function children(value: Json): [string, Json][] {
  if (Array.isArray(value)) return value.map((v, i) => [String(i), v as Json]);
  if (typeof value === 'object' && value !== null) return Object.entries(value);
  return [];
}

/**
 * The first path (as a JSON Pointer to the body's top-level member that holds it) whose
 * nesting exceeds `max`, or undefined. Iterative on purpose: a recursive walk is exactly
 * what a deep value would overflow.
 */
export function tooDeepPath(value: Json, max = MAX_JSON_DEPTH): string | undefined {
  const stack: { value: Json; depth: number; top: string }[] = [];
  for (const [key, child] of children(value)) stack.push({ value: child, depth: 2, top: key });
  while (stack.length > 0) {
    const item = stack.pop() as { value: Json; depth: number; top: string };
    if (typeof item.value !== 'object' || item.value === null) continue;
    if (item.depth > max) return `/${segment(item.top)}`;
    for (const [, child] of children(item.value))
      stack.push({ value: child, depth: item.depth + 1, top: item.top });
  }
  return undefined;
}

/** The 400 problem for a body nested deeper than {@link MAX_JSON_DEPTH}. */
export function depthProblem(path: string): FieldProblem {
  return { path, message: `must not nest arrays or objects more than ${MAX_JSON_DEPTH} deep` };
}

/**
 * Replaces Fastify's JSON body parser with the same parser (prototype poisoning refused)
 * followed by a depth check, so a deeply nested body is a 400 naming its field, never a 500.
 * An empty body is no body, whatever the content type says: clients that send
 * `Content-Type: application/json` on every request reach the routes that take none (cancel,
 * recover, pause, …) as if they had sent nothing; a route that needs a body answers as for
 * any missing one (400 INVALID_REQUEST; 422 for a workflow definition, which is validated
 * whole).
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.length === 0) return done(null, undefined);
    // Fastify's default JSON parser is synchronous: it returns nothing to await.
    void parse(request, text, (error, value) => {
      if (error) return done(error, undefined);
      const path = tooDeepPath(value);
      if (path !== undefined) return done(apiErrors.invalidRequest([depthProblem(path)]));
      return done(null, value);
    });
  });
}
