import { Type } from '@sinclair/typebox';

/** Shared route schemas (TypeBox → JSON Schema for validation and OpenAPI). */
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

/** Standard error responses for OpenAPI. */
export const problemResponses = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [c, { ...Type.Ref('Problem'), description: 'application/problem+json' }]),
  );
