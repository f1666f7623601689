import { AppError, isRetryableType, type ErrorType } from '@linkflow/domain';

/**
 * A node run failure. `type` is one of the contract's error types (docs/api.md); `retryable` follows it
 * unless the node says otherwise (an HTTP 404 is EXECUTION but not retryable).
 */
export class NodeError extends AppError {
  readonly type: ErrorType;
  readonly status: number | undefined;

  constructor(
    type: ErrorType,
    message: string,
    options: { retryable?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(`NODE_${type}`, message, {
      kind: 'user',
      retryable: options.retryable ?? isRetryableType(type),
      cause: options.cause,
    });
    this.name = 'NodeError';
    this.type = type;
    this.status = options.status;
  }
}

/** Normalises anything thrown by node code into a NodeError (UNKNOWN when unrecognised). */
export function toNodeError(err: unknown, signal?: AbortSignal): NodeError {
  if (err instanceof NodeError) return err;
  if (signal?.aborted) return abortError(signal);
  const message = err instanceof Error ? err.message : String(err);
  return new NodeError('UNKNOWN', message, { retryable: false, cause: err });
}

/** The error for an aborted signal: TIMEOUT when the reason says so, else CANCELLATION. */
export function abortError(signal: AbortSignal): NodeError {
  const reason: unknown = signal.reason;
  if (reason instanceof NodeError) return reason;
  const isTimeout = reason instanceof Error && reason.name === 'TimeoutError';
  return isTimeout
    ? new NodeError('TIMEOUT', 'node timed out', { retryable: true })
    : new NodeError('CANCELLATION', 'node was cancelled', { retryable: false });
}
