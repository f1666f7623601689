import { isRetryableHttpStatus } from '@linkflow/domain';
import { NodeError, abortError } from '../node-errors.ts';

/** Socket and DNS failures: the target may answer on a later attempt. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** undici's own read timeouts (5 min by default); the node's timer normally fires first. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Request shapes undici refuses (bad header value, unsupported option). */
const INVALID_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'ERR_INVALID_URL',
]);

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}

function isTlsFailure(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code.includes('SELF_SIGNED')
  );
}

/**
 * Maps anything thrown while talking to the target into a NodeError: our own NodeErrors
 * pass through; an aborted `signal` (the caller's cancel or the node's own deadline, whose
 * reason is a TIMEOUT NodeError) wins over the socket error it caused; network failures
 * are CONNECTIVITY (retryable); TLS failures are CONNECTIVITY but not retryable (a bad
 * certificate does not fix itself); undici argument errors are VALIDATION.
 */
export function toHttpError(err: unknown, signal: AbortSignal, target: string): NodeError {
  if (signal.aborted) return abortError(signal);
  if (err instanceof NodeError) return err;
  const code = errorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new NodeError('TIMEOUT', `${target} timed out (${code})`, {
      retryable: true,
      cause: err,
    });
  }
  if (code !== undefined && INVALID_CODES.has(code)) {
    return new NodeError('VALIDATION', `invalid request to ${target}: ${detail}`, {
      retryable: false,
      cause: err,
    });
  }
  if (code !== undefined && isTlsFailure(code)) {
    return new NodeError('CONNECTIVITY', `TLS failure for ${target}: ${detail}`, {
      retryable: false,
      cause: err,
    });
  }
  if (
    code !== undefined &&
    (NETWORK_CODES.has(code) || code.startsWith('E') || code.startsWith('UND_ERR'))
  ) {
    return new NodeError('CONNECTIVITY', `${target} failed: ${code} ${detail}`.trim(), {
      retryable: true,
      cause: err,
    });
  }
  return new NodeError('UNKNOWN', `${target} failed: ${detail}`, { retryable: false, cause: err });
}

/**
 * The failure for a status outside `accept_status`: EXECUTION with the status, retryable for
 * 408, 429 and 5xx (the server may recover), not retryable otherwise.
 */
export function statusError(status: number, target: string): NodeError {
  const retryable = isRetryableHttpStatus(status);
  return new NodeError('EXECUTION', `HTTP ${status} from ${target}`, { retryable, status });
}

/** The failure for a body larger than the limit; names the limit. */
export function tooLargeError(limit: number, target: string): NodeError {
  return new NodeError(
    'EXECUTION',
    `response from ${target} exceeds max_response_bytes (${limit} bytes)`,
    {
      retryable: false,
    },
  );
}

/** The reason the node's own deadline aborts with; `abortError` returns it as is. */
export function deadlineError(timeoutMs: number, target: string): NodeError {
  return new NodeError('TIMEOUT', `${target} timed out after ${timeoutMs} ms`, { retryable: true });
}

/** `GET https://host/path` for messages: no credentials, no query string (it may hold keys). */
export function describeTarget(method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`;
}
