import type { ExpressionFailure } from '@linkflow/domain';
import { abortError, NodeError } from '../node-errors.ts';

/**
 * The node error for a failed expression or template: TIMEOUT past the node's deadline
 * (retryable, like the node's own timeout) or the per-evaluation ceiling (not: the same
 * input takes as long again), the signal's error when aborted (TIMEOUT or
 * CANCELLATION), EXPRESSION for its own errors and size or depth limits.
 */
export function expressionError(
  failure: ExpressionFailure,
  signal: AbortSignal | undefined,
  where = 'expression failed',
): NodeError {
  const message = `${where}: ${failure.message}`;
  switch (failure.reason) {
    case 'aborted':
      return signal?.aborted === true
        ? abortError(signal)
        : new NodeError('CANCELLATION', message, { retryable: false });
    case 'deadline':
      return new NodeError('TIMEOUT', message, { retryable: true });
    case 'timeout':
      return new NodeError('TIMEOUT', message, { retryable: false });
    case 'limit':
    case 'error':
      return new NodeError('EXPRESSION', message, { retryable: false });
  }
}
