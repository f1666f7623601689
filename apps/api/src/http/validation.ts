import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify';

type ValidatorOptions = { customOptions?: Record<string, unknown> } & Record<string, unknown>;
type BuildValidator = (
  externals: unknown,
  options: ValidatorOptions,
) => (route: unknown) => unknown;

/**
 * Fastify's validator factory with two Ajv pools over the server's `ajv` options: query
 * strings, path params and headers are text, so they are coerced to their schema's types
 * (`?limit=5` is 5); a JSON body is already typed, so it is not coerced (`"workflow_id": 123`
 * is a 400 naming the field, not the string "123"). `@fastify/ajv-compiler` is what Fastify
 * uses by default, so formats and shared schemas behave as before.
 */
function buildValidator(
  externals: unknown,
  options: ValidatorOptions,
): FastifySchemaCompiler<unknown> {
  const build = AjvCompiler() as unknown as BuildValidator;
  const coercing = build(externals, options);
  const strict = build(externals, {
    ...options,
    customOptions: { ...options.customOptions, coerceTypes: false },
  });
  return (route) =>
    (route.httpPart === 'body' ? strict : coercing)(route) as ReturnType<
      FastifySchemaCompiler<unknown>
    >;
}

/** The `schemaController` option of the API's Fastify instance. */
export const schemaController = {
  compilersFactory: { buildValidator },
} as unknown as NonNullable<FastifyServerOptions['schemaController']>;
