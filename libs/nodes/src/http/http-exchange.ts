import { isIP } from 'node:net';
import { request, type Dispatcher } from 'undici';
import { NodeError } from '../node-errors.ts';
import type { AddressPolicy } from './address-policy.ts';
import { assertAllowed } from './guarded-lookup.ts';
import { describeTarget, toHttpError, tooLargeError } from './http-errors.ts';

/** One request on the wire (one redirect hop). */
export interface Hop {
  readonly url: URL;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/** A response whose body has not been read yet. */
export interface HopResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly raw: Dispatcher.ResponseData;
  /** Approximate bytes of the request line, headers and body. */
  readonly bytesOut: number;
  /** Approximate bytes of the status line and headers (the body is counted when read). */
  readonly headerBytesIn: number;
}

export interface HopDeps {
  readonly dispatcher: Dispatcher;
  readonly policy: AddressPolicy;
  readonly signal: AbortSignal;
}

/**
 * Sends one hop. The scheme is checked here (templates may have produced anything) and an
 * IP-literal host is checked against the policy (node:net skips `lookup` for IPs, so the
 * guarded lookup never sees it); host names are checked by the dispatcher's guarded lookup
 * at connect time.
 * @throws NodeError SECURITY, CONNECTIVITY, TIMEOUT, CANCELLATION, VALIDATION.
 */
export async function sendHop(hop: Hop, deps: HopDeps): Promise<HopResponse> {
  const target = describeTarget(hop.method, hop.url);
  if (hop.url.protocol !== 'http:' && hop.url.protocol !== 'https:') {
    throw new NodeError(
      'SECURITY',
      `scheme ${hop.url.protocol} is not allowed; use http or https`,
      { retryable: false },
    );
  }
  const bareHost = hop.url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bareHost) !== 0) assertAllowed(hop.url.hostname, bareHost, deps.policy);
  try {
    const raw = await request(hop.url, {
      dispatcher: deps.dispatcher,
      method: hop.method,
      headers: hop.headers,
      body: hop.body ?? null,
      signal: deps.signal,
    });
    const headers = flattenHeaders(raw.headers);
    return {
      status: raw.statusCode,
      headers,
      raw,
      bytesOut: requestBytes(hop),
      headerBytesIn: headerBytes(headers) + 17,
    };
  } catch (err) {
    throw toHttpError(err, deps.signal, target);
  }
}

/**
 * Reads the body, failing as soon as more than `limit` bytes have arrived (a larger
 * `content-length` fails before reading anything). Failing destroys the stream, which
 * closes the socket instead of draining the rest.
 * @throws NodeError EXECUTION (not retryable) naming the limit, or a mapped transport error.
 */
export async function readBody(
  res: HopResponse,
  limit: number,
  deps: { signal: AbortSignal; target: string },
): Promise<Buffer> {
  const body = res.raw.body;
  const declared = Number(res.headers['content-length'] ?? Number.NaN);
  if (declared > limit) {
    body.destroy();
    throw tooLargeError(limit, deps.target);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buf.length;
      if (size > limit) throw tooLargeError(limit, deps.target);
      chunks.push(buf);
    }
  } catch (err) {
    body.destroy();
    throw toHttpError(err, deps.signal, deps.target);
  }
  return Buffer.concat(chunks, size);
}

/** Discards a body we do not need (a redirect, a refused status) without blocking on it. */
export async function discardBody(res: HopResponse): Promise<void> {
  try {
    await res.raw.body.dump({ limit: 64 * 1024 });
  } catch {
    // The socket is closed by dump() on failure; nothing is waiting for this body.
  }
}

/** Header values as strings; repeated headers are joined with `, ` (RFC 9110 §5.3). */
function flattenHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function headerBytes(headers: Readonly<Record<string, string>>): number {
  let total = 0;
  for (const [name, value] of Object.entries(headers))
    total += Buffer.byteLength(name) + Buffer.byteLength(value) + 4;
  return total + 2;
}

function requestBytes(hop: Hop): number {
  const line = `${hop.method} ${hop.url.pathname}${hop.url.search} HTTP/1.1\r\nhost: ${hop.url.host}\r\n`;
  const body = hop.body === undefined ? 0 : Buffer.byteLength(hop.body);
  return Buffer.byteLength(line) + headerBytes(hop.headers) + body;
}
