import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, findUnstorableText, UNSTORABLE_TEXT_MESSAGE } from '@linkflow/domain';
import { apiErrors } from './api-errors.ts';

/** Control characters, which no id this API hands out contains. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The first path parameter no id can hold (control character or lone surrogate). */
function impossibleParam(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) return undefined;
  for (const [name, value] of Object.entries(params)) {
    if (
      typeof value === 'string' &&
      (CONTROL.test(value) || findUnstorableText(value) !== undefined)
    )
      return name;
  }
  return undefined;
}

/** The first query, header or body field holding text Postgres cannot store, as a pointer. */
function unstorableField(request: FastifyRequest): string | undefined {
  const query = findUnstorableText(request.query);
  if (query !== undefined) return `/query${query === '/' ? '' : query}`;
  const header = findUnstorableText(request.headers);
  if (header !== undefined) return `/headers${header}`;
  return findUnstorableText(request.body);
}

/**
 * Refuses, before validation and any database call, text Postgres `text` and `jsonb` cannot
 * store (NUL, lone UTF-16 surrogates): a path parameter holding it (or any control character)
 * names nothing, so 404; a query parameter, header or body field is a 400 naming the field.
 * Without this the database answers such values with an error that surfaces as a 500.
 */
export function installStorableTextCheck(app: FastifyInstance): void {
  app.addHook('preValidation', (request, _reply, done) => {
    const param = impossibleParam(request.params);
    if (param !== undefined) {
      done(new AppError('NOT_FOUND', `no resource has that ${param}`, { kind: 'not_found' }));
      return;
    }
    const path = unstorableField(request);
    done(
      path === undefined
        ? undefined
        : apiErrors.invalidRequest([{ path, message: UNSTORABLE_TEXT_MESSAGE }]),
    );
  });
}
