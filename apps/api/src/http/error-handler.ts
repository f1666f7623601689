import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toAppError, type ErrorKind, type FieldProblem } from '@linkflow/domain';

/** The one table from error kind to HTTP status (a `details.status` may refine 400 to 422). */
const STATUS: Readonly<Record<ErrorKind, number>> = {
  user: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unavailable: 503,
  internal: 500,
};

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

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
    const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
    const extra = (v.params as { additionalProperty?: string } | undefined)?.additionalProperty;
    const leaf = missing ?? extra;
    const path = `${v.instancePath}${leaf === undefined ? '' : `/${leaf}`}` || '/';
    return { path, message: v.message ?? 'is invalid' };
  });
}

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
    const code =
      status === 415
        ? 'UNSUPPORTED_MEDIA_TYPE'
        : status === 404
          ? 'NOT_FOUND'
          : 'MALFORMED_REQUEST';
    return new AppError(code, error.message, {
      kind: status === 404 ? 'not_found' : 'user',
      details: { status },
    });
  }
  return toAppError(error);
}

/** Builds the RFC 9457 body; 5xx hide their detail. */
export function toProblem(error: AppError, requestId: string): Problem {
  const override = error.details?.['status'];
  const status = typeof override === 'number' ? override : STATUS[error.kind];
  const problem: Problem = {
    type: typeUri(error.code),
    title: TITLES[status] ?? 'Error',
    status,
    detail:
      status >= 500
        ? 'an internal error occurred; quote the instance id when reporting it'
        : error.message,
    instance: requestId,
    code: status >= 500 ? 'INTERNAL' : error.code,
  };
  if (error.problems.length > 0) problem.errors = [...error.problems];
  return problem;
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
        : toAppError(raw);
  const problem = toProblem(error, request.id);
  if (problem.status >= 500) request.log.error({ err: raw }, 'request failed');
  else request.log.info({ code: problem.code, status: problem.status }, 'request rejected');
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
