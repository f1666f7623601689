import { Type, type Static } from '@sinclair/typebox';
import { MAX_TIMEOUT_MS, type FieldProblem } from '@linkflow/domain';

/** Methods the http node sends. */
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * One `accept_status` entry: an exact status (`201`) or a class (`"2xx"`). Both kinds may be
 * mixed in one list: `[200, 201, "3xx"]`. The default is `["2xx"]` (200–299).
 */
const AcceptStatusEntry = Type.Union([
  Type.Integer({ minimum: 100, maximum: 599 }),
  Type.String({ pattern: '^[1-5]xx$' }),
]);

/**
 * Config of the `http` node, version 1 (wire names are snake_case).
 * - `body`: a string is sent as text (`text/plain; charset=utf-8`), any other JSON value as
 *   `application/json`; a `content-type` header given in `headers` wins. `null` sends no body.
 * - `timeout_ms` covers the whole exchange (every redirect hop and reading the body); at most
 *   `MAX_TIMEOUT_MS` (24 h), since a larger value would overflow Node's timer.
 * - `max_response_bytes` can only lower the server's limit, never raise it.
 */
export const HttpConfigSchema = Type.Object(
  {
    method: Type.Optional(
      Type.Union(
        HTTP_METHODS.map((m) => Type.Literal(m)),
        { default: 'GET' },
      ),
    ),
    url: Type.String({ minLength: 1 }),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    query: Type.Optional(
      Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
    ),
    body: Type.Optional(Type.Unknown()),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TIMEOUT_MS })),
    max_response_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
    accept_status: Type.Optional(Type.Array(AcceptStatusEntry, { minItems: 1, default: ['2xx'] })),
    follow_redirects: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false },
);

/** A validated (and, at run time, template-rendered) http node config. */
export type HttpConfig = Static<typeof HttpConfigSchema>;

/** Headers the node computes itself or that would change how the connection is used. */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
]);

/** RFC 9110 `token`: what a header name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const TEMPLATE = '{{';

/** `new URL(text)` without throwing (Node 20 has no `URL.parse`). */
export function parseUrl(text: string, base?: URL): URL | undefined {
  return URL.canParse(text, base?.href) ? new URL(text, base) : undefined;
}

/** True when `status` is admitted by `accept` (default 200–299). */
export function isAcceptedStatus(status: number, accept: HttpConfig['accept_status']): boolean {
  const entries = accept ?? ['2xx'];
  return entries.some((entry) =>
    typeof entry === 'number' ? entry === status : Math.floor(status / 100) === Number(entry[0]),
  );
}

/**
 * Rules JSON Schema cannot express: the URL must be absolute http(s) unless it is still a
 * template (it is checked again after rendering), and header names must be valid tokens
 * that the node does not manage itself.
 */
export function checkHttpConfig(config: HttpConfig): readonly FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (!config.url.includes(TEMPLATE)) {
    const url = parseUrl(config.url);
    if (url === undefined) {
      problems.push({ path: '/config/url', message: 'must be an absolute http or https URL' });
    } else if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      problems.push({
        path: '/config/url',
        message: `scheme ${url.protocol} is not allowed; use http or https`,
      });
    }
  }
  for (const name of Object.keys(config.headers ?? {})) {
    const path = `/config/headers/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (!TOKEN.test(name)) problems.push({ path, message: 'is not a valid header name' });
    else if (RESERVED_HEADERS.has(name.toLowerCase()))
      problems.push({ path, message: 'is set by the node and cannot be overridden' });
  }
  return problems;
}

/** `host:port` of the URL (port defaulted from the scheme); undefined while it is a template. */
export function httpBreakerKey(config: HttpConfig): string | undefined {
  if (config.url.includes(TEMPLATE)) return undefined;
  const url = parseUrl(config.url);
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    return undefined;
  const port = url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port;
  return `${url.hostname}:${port}`;
}

/** Header names the node refuses in `headers` (checked again at run time). */
export function isReservedHeader(name: string): boolean {
  return RESERVED_HEADERS.has(name.toLowerCase());
}
