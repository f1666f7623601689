import { ERROR_TYPES, type RunError } from './error-types.ts';
import { truncateText } from './truncate.ts';

/** Causes followed when reading a stored error (RETRY_EXHAUSTED nests one level). */
const MAX_CAUSE_DEPTH = 4;

const isErrorType = (value: unknown): value is RunError['type'] =>
  (ERROR_TYPES as readonly unknown[]).includes(value);

function messageOf(value: unknown): string {
  if (typeof value === 'string') return truncateText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return 'the stored error has no message';
}

/**
 * A node run's stored `error` (JSON read back from the database, of any shape) as a
 * well-formed RunError: an unknown or missing type becomes UNKNOWN, a message is a string
 * of at most 8 KiB, a status a number and a cause a RunError; null stays null.
 */
export function storedRunError(value: unknown, depth = 0): RunError | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { type: 'UNKNOWN', message: messageOf(value) };
  }
  const raw = value as Record<string, unknown>;
  const type = isErrorType(raw.type) ? raw.type : 'UNKNOWN';
  const cause = depth < MAX_CAUSE_DEPTH ? storedRunError(raw.cause, depth + 1) : null;
  return {
    type,
    message: messageOf(raw.message),
    ...(typeof raw.status === 'number' ? { status: raw.status } : {}),
    ...(cause === null ? {} : { cause }),
  };
}
