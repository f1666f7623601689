import type { FastifyBaseLogger, FastifyRequest } from 'fastify';

/** What replaces a secret in a logged URL (the logger's redaction censor). */
const REDACTED = '[REDACTED]';

/** Query parameters that carry secrets (`token`: the API key of a browser's WebSocket). */
const SECRET_PARAM = /^(?:token|api_key|apikey|access_token)$/i;
/** `?name=value` / `&name=value`, as the query string parser splits them. */
const QUERY_PARAM = /([?&])([^=&#]*)=([^&#]*)/g;

/** A parameter name as the query string parser reads it (`%74oken` is `token`). */
function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}

/** The URL with the values of secret query parameters replaced, however their names are encoded. */
export function redactUrl(url: string): string {
  if (!url.includes('?')) return url;
  return url.replace(QUERY_PARAM, (all, sep: string, name: string) =>
    SECRET_PARAM.test(decodedName(name)) ? `${sep}${name}=${REDACTED}` : all,
  );
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
