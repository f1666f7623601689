import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toAppError, type ErrorKind, type FieldProblem } from '@linkflow/domain';
import { isTransientStoreError } from '@linkflow/store';

/** The one table from error kind to HTTP status. */
const STATUS: Readonly<Record<ErrorKind, number>> = {
  user: 400,
  unprocessable: 422,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
};

/** Problem titles by status (also the descriptions of problem responses in OpenAPI). */
export const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** `Retry-After` of a 503 (about one Redis reconnect backoff step) and of a 429. */
export const RETRY_AFTER_SECONDS = 5;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: string;
  errors?: FieldProblem[];
}

const typeUri = (code: string) => `/problems/${code.toLowerCase().replace(/_/g, '-')}`;

function validationProblems(error: FastifyError): FieldProblem[] {
  return (error.validation ?? []).map((v) => {
    const leaf = v.params['missingProperty'] ?? v.params['additionalProperty'];
    const path = `${v.instancePath}${typeof leaf === 'string' ? `/${leaf}` : ''}` || '/';
    return { path, message: v.message ?? 'is invalid' };
  });
}

/** Fastify's own 4xx statuses (body parsing, routing, limits) as error kinds and codes. */
const FASTIFY_4XX: Readonly<Record<number, { kind: ErrorKind; code: string }>> = {
  404: { kind: 'not_found', code: 'NOT_FOUND' },
  // A path parameter over maxParamLength: no id is that long.
  414: { kind: 'not_found', code: 'NOT_FOUND' },
  415: { kind: 'unsupported_media_type', code: 'UNSUPPORTED_MEDIA_TYPE' },
};

/** Maps Fastify's own errors (validation, body parsing, limits) onto AppErrors. */
function fromFastify(error: FastifyError): AppError {
  if (error.validation) {
    return new AppError(
      'INVALID_REQUEST',
      `request ${error.validationContext ?? 'body'} is invalid`,
      { kind: 'user', problems: validationProblems(error) },
    );
  }
  const status = error.statusCode ?? 500;
  if (status === 413)
    return new AppError('BODY_TOO_LARGE', 'request body is larger than the limit', {
      kind: 'too_large',
    });
  if (status >= 400 && status < 500) {
    // Any other 4xx Fastify raises (empty or malformed JSON, bad URL) is a 400.
    const { kind, code } = FASTIFY_4XX[status] ?? { kind: 'user', code: 'MALFORMED_REQUEST' };
    return new AppError(code, error.message, { kind });
  }
  return toAppError(error);
}

/**
 * Builds the RFC 9457 body. Internal errors hide their detail; `unavailable` (503) keeps it:
 * those are ours, say what is missing (the database, the queue, a secrets key) and leak
 * nothing.
 */
export function toProblem(error: AppError, requestId: string): Problem {
  const status = STATUS[error.kind];
  const hidden = status >= 500 && error.kind !== 'unavailable';
  const problem: Problem = {
    type: typeUri(error.code),
    title: TITLES[status] ?? 'Error',
    status,
    detail: hidden
      ? 'an internal error occurred; quote the instance id when reporting it'
      : error.message,
    instance: requestId,
    code: hidden ? 'INTERNAL' : error.code,
  };
  if (error.problems.length > 0) problem.errors = [...error.problems];
  return problem;
}

/**
 * Postgres gone or refusing (by the driver's error class and SQLSTATE, also when Prisma or
 * a repository wrapped it as `cause`): 503 with Retry-After, not 500.
 */
function storeUnavailable(raw: unknown): AppError | undefined {
  let err: unknown = raw;
  for (let depth = 0; depth < 4 && typeof err === 'object' && err !== null; depth++) {
    if (isTransientStoreError(err))
      return new AppError('STORE_UNAVAILABLE', 'the database is unavailable; retry later', {
        kind: 'unavailable',
        retryable: true,
        cause: raw,
      });
    err = (err as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Sends a problem+json reply for any error. */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  raw: unknown,
): FastifyReply {
  const error =
    raw instanceof AppError
      ? raw
      : typeof raw === 'object' && raw !== null && 'statusCode' in raw
        ? fromFastify(raw as FastifyError)
        : (storeUnavailable(raw) ?? toAppError(raw));
  const problem = toProblem(error, request.id);
  if (problem.status >= 500) request.log.error({ err: raw }, 'request failed');
  else request.log.info({ code: problem.code, status: problem.status }, 'request rejected');
  // A dependency is down (Redis, Postgres): tell clients when to try again.
  if (problem.status === 503 || problem.status === 429)
    reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return reply.status(problem.status).type('application/problem+json').send(problem);
}

/** Installs the single error handler and the problem+json 404. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new AppError(
        'NOT_FOUND',
        `route ${request.method} ${request.url.split('?')[0] ?? ''} not found`,
        { kind: 'not_found' },
      ),
    ),
  );
}
