import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

/** What replaces a secret in a logged URL (the logger's redaction censor). */
const REDACTED = '[REDACTED]';

/** Query parameters that carry secrets (`token`: the API key of a browser's WebSocket). */
const SECRET_PARAMS = /([?&](?:token|api_key|apikey|access_token)=)[^&#]*/gi;

/** The URL with the values of secret query parameters replaced. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, `$1${REDACTED}`);
}

/**
 * Fastify's request serializer, minus secrets: the same fields (method, url, host, remote
 * address and port), with `?token=` values redacted. Headers are not logged at all, so the
 * `Authorization` key never is (the logger's `redact` paths cover it anywhere else).
 */
export function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/** A child of `logger` whose `req` serializer is {@link serializeRequest} (Fastify keeps it). */
export function withSafeRequestLogs(logger: FastifyBaseLogger): FastifyBaseLogger {
  return logger.child({}, { serializers: { req: serializeRequest } });
}
