import { NodeError } from '../node-errors.ts';
import { isReservedHeader, parseUrl, type HttpConfig, type HttpMethod } from './http-config.ts';
import type { Hop } from './http-exchange.ts';

/**
 * The only headers a redirect may carry to another origin: they describe what the client
 * accepts and cannot carry a secret. Every other header (`authorization`, `cookie`, but also
 * `x-api-key` and any custom header a workflow sets) may be a credential meant for the
 * first origin only, so it is dropped; an allowlist because a denylist cannot know them all.
 */
const CROSS_ORIGIN_SAFE_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'pragma',
  'user-agent',
]);

/** Headers that describe the body: they follow it when a 307/308 resends it. */
const BODY_HEADERS: ReadonlySet<string> = new Set(['content-type', 'content-language']);

/** Longest rendered URL an error message quotes. */
const MAX_QUOTED_URL = 200;

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Builds the first hop from a rendered config: the URL with `query` appended, the headers
 * (names lower-cased) and the encoded body with its default content type.
 * @throws NodeError VALIDATION when rendering produced an unusable URL or a reserved header,
 *   SECURITY when the URL is not http(s).
 */
export function firstHop(config: HttpConfig): Hop {
  const url = parseUrl(config.url);
  if (url === undefined) {
    // Quoted whole or not at all: a cut could end inside a credential value, and redaction
    // only recognises whole values.
    const quoted =
      config.url.length <= MAX_QUOTED_URL
        ? `: ${config.url}`
        : ` (${config.url.length} characters)`;
    throw new NodeError('VALIDATION', `url is not an absolute URL${quoted}`, { retryable: false });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NodeError('SECURITY', `scheme ${url.protocol} is not allowed; use http or https`, {
      retryable: false,
    });
  }
  for (const [name, value] of Object.entries(config.query ?? {}))
    url.searchParams.append(name, toText(value));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.headers ?? {})) {
    if (isReservedHeader(name)) {
      throw new NodeError(
        'VALIDATION',
        `header ${name} is set by the node and cannot be overridden`,
        { retryable: false },
      );
    }
    headers[name.toLowerCase()] = toText(value);
  }
  const method: HttpMethod = config.method ?? 'GET';
  const body = encodeBody(config.body, headers);
  return { url, method, headers, body };
}

/**
 * The hop a redirect response leads to, or undefined when `status` is not a redirect or has
 * no usable `location`. Follows browsers and RFC 9110 §15.4: 303 (and 301/302 after a POST)
 * become a GET without body; 307/308 repeat the method and body. Another origin receives
 * only the headers in `CROSS_ORIGIN_SAFE_HEADERS` (plus the body's type when the body goes
 * along): credentials and custom headers stay with the origin the workflow named.
 */
export function redirectHop(
  from: Hop,
  status: number,
  location: string | undefined,
): Hop | undefined {
  if (!REDIRECT_STATUSES.has(status) || location === undefined) return undefined;
  const url = parseUrl(location, from.url);
  if (url === undefined) return undefined;
  url.hash = '';
  const toGet =
    (status === 303 && from.method !== 'HEAD') ||
    ((status === 301 || status === 302) && from.method === 'POST');
  const body = toGet ? undefined : from.body;
  const headers = redirectHeaders(from.headers, {
    crossOrigin: url.origin !== from.url.origin,
    keepsBody: body !== undefined,
  });
  return { url, method: toGet ? 'GET' : from.method, headers, body };
}

/** The headers of a redirect hop: all of them on the same origin, only safe ones elsewhere. */
function redirectHeaders(
  headers: Readonly<Record<string, string>>,
  hop: { crossOrigin: boolean; keepsBody: boolean },
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (BODY_HEADERS.has(name) && !hop.keepsBody) continue;
    if (hop.crossOrigin && !CROSS_ORIGIN_SAFE_HEADERS.has(name) && !BODY_HEADERS.has(name))
      continue;
    kept[name] = value;
  }
  return kept;
}

/** A string body is text; any other JSON value is serialised; null/undefined send nothing. */
function encodeBody(body: unknown, headers: Record<string, string>): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') {
    headers['content-type'] ??= 'text/plain; charset=utf-8';
    return body;
  }
  headers['content-type'] ??= 'application/json';
  return JSON.stringify(body);
}

/** Rendered templates may yield non-strings; numbers and booleans print as themselves. */
function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}
