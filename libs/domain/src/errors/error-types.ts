/** Node-run and execution error types, exactly as docs/api.md lists them. */
export const ERROR_TYPES = [
  'CONNECTIVITY',
  'TIMEOUT',
  'VALIDATION',
  'TRANSFORMATION',
  'EXPRESSION',
  'SECURITY',
  'EXECUTION',
  'RETRY_EXHAUSTED',
  'CANCELLATION',
  'CIRCUIT_OPEN',
  'BUDGET',
  'UNKNOWN',
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

/** The `{type, message}` stored on a node run or execution. */
export interface RunError {
  readonly type: ErrorType;
  readonly message: string;
  /** The node that failed; null for execution-level errors (timeout, cancel, dead-letter). */
  readonly node_id?: string | null;
  readonly cause?: RunError;
  readonly status?: number;
}

/** Error types a retry policy may retry; everything else fails the node at once. */
const RETRYABLE: ReadonlySet<ErrorType> = new Set(['CONNECTIVITY', 'TIMEOUT', 'EXECUTION']);

export function isRetryableType(type: ErrorType): boolean {
  return RETRYABLE.has(type);
}
