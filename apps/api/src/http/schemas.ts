import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TITLES } from './error-handler.ts';

/** Shared route schemas (TypeBox → JSON Schema for validation, serialization and OpenAPI). */
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
};

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem' },
);

/** An ISO-8601 UTC timestamp string. */
export const Timestamp = Type.String({ format: 'date-time' });

/**
 * `schema` or null, as one JSON Schema type list (`type: ['string', 'null']`): OpenAPI 3.1
 * reads it as nullable and the serializer handles it without trying `anyOf` branches.
 */
export function nullable<T extends TSchema & { type: string }>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
}

/** A list page: `{items, next_cursor}` (the cursor is opaque; null on the last page). */
export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), next_cursor: nullable(Type.String()) });
}

/** Problem statuses a route may declare. */
export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;

function problemResponse(status: ProblemStatus) {
  return {
    description: TITLES[status] ?? 'Error',
    content: {
      'application/problem+json': {
        schema: Type.Unsafe<Static<typeof ProblemSchema>>(Type.Ref('Problem')),
      },
    },
  };
}

type ProblemResponse = ReturnType<typeof problemResponse>;

/** Every `/api` route can answer these: no or a bad key, a missing scope, a server fault. */
const SCOPED_PROBLEMS: readonly ProblemStatus[] = [401, 403, 500];

/**
 * The `response` map of an `/api` route: its success responses (status → schema, each with a
 * `description`) and each problem status it can answer, always including 401, 403 and 500,
 * typed `application/problem+json` with the Problem schema.
 */
export function responses<S extends Readonly<Record<number, TSchema>>>(
  success: S,
  problems: readonly ProblemStatus[] = [],
): S & Record<ProblemStatus, ProblemResponse> {
  const all = [...new Set([...problems, ...SCOPED_PROBLEMS])].sort((a, b) => a - b);
  // Typed as if every problem status were listed: the reply type only needs their union.
  const problemMap = Object.fromEntries(all.map((s) => [s, problemResponse(s)])) as Record<
    ProblemStatus,
    ProblemResponse
  >;
  return { ...success, ...problemMap };
}

/** A success response with its OpenAPI description. */
export function described<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description };
}

/** A success response without a body (204). */
export const NoContent = Type.Null({ description: 'No content' });

/**
 * One of `values`, as `{type: 'string', enum}`: one clear validation message and a plain
 * string for the serializer (a union of literals would be `anyOf`, tried branch by branch).
 */
export function stringEnum<const V extends readonly string[]>(values: V) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values] });
}
