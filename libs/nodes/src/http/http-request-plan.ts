import { NodeError } from '../node-errors.ts';
import { isReservedHeader, parseUrl, type HttpConfig, type HttpMethod } from './http-config.ts';
import type { Hop } from './http-exchange.ts';

/** Headers dropped when a redirect leaves the original origin. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'] as const;

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
    throw new NodeError('VALIDATION', `url is not an absolute URL: ${config.url.slice(0, 200)}`, {
      retryable: false,
    });
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
 * become a GET without body; 307/308 repeat the method and body. Credentials
 * (authorization, cookie) are not sent to another origin.
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
  const headers: Record<string, string> = { ...from.headers };
  if (toGet) {
    delete headers['content-type'];
  }
  if (url.origin !== from.url.origin) {
    for (const name of CREDENTIAL_HEADERS) delete headers[name];
  }
  return { url, method: toGet ? 'GET' : from.method, headers, body: toGet ? undefined : from.body };
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
