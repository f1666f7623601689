import { redactText, toStorableText, truncateText, type RunError } from '@linkflow/domain';
import type { NodeError } from '@linkflow/nodes';

/**
 * A node error as stored, its message redacted (secret values, URL passwords, tokens) and
 * storable: a tenant's `$error("\u0000")` must not make its checkpoint unwritable (Postgres
 * stores no NUL and no lone surrogate in text or jsonb).
 */
export const toRunError = (e: NodeError, secrets: readonly string[]): RunError => ({
  type: e.type,
  message: toStorableText(redactText(e.message, secrets)),
  ...(e.status === undefined ? {} : { status: e.status }),
});

/** The stored error of a failed node run: RETRY_EXHAUSTED around the cause after retries. */
export function finalError(
  error: NodeError,
  attempts: number,
  secrets: readonly string[],
): RunError {
  const cause = toRunError(error, secrets);
  if (attempts > 1 && error.retryable) {
    return {
      type: 'RETRY_EXHAUSTED',
      // The prefix could push an 8 KiB message past the cap.
      message: truncateText(`gave up after ${attempts} attempts: ${cause.message}`),
      cause,
    };
  }
  return cause;
}
