import { truncateText } from './truncate.ts';

/**
 * The one error base for every layer. `code` is a stable SCREAMING_SNAKE string that
 * callers (and the HTTP error handler's table) key on; `kind` decides the status family.
 */
export const ERROR_KINDS = [
  'user',
  /** Well-formed but not acceptable as a whole (an invalid workflow definition): 422. */
  'unprocessable',
  /** A request body in a media type the API does not read: 415. */
  'unsupported_media_type',
  'conflict',
  'not_found',
  'unavailable',
  'internal',
  'unauthorized',
  'forbidden',
  'too_large',
  /** A per-client limit (open streams) is reached: 429. */
  'too_many_requests',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** One field-level problem, as in problem+json `errors: [{path, message}]`. */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

export interface AppErrorOptions {
  readonly kind: ErrorKind;
  readonly retryable?: boolean;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly problems?: readonly FieldProblem[];
  readonly cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly problems: readonly FieldProblem[];

  constructor(code: string, message: string, options: AppErrorOptions) {
    // Truncated here, where every error is made, so no copy of a huge message (a transform's
    // `$error($pad("", 5e7))`) reaches a node run, an execution, a log line or Redis.
    super(
      truncateText(message),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'AppError';
    this.code = code;
    this.kind = options.kind;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    this.problems = options.problems ?? [];
  }
}

/** Normalises anything caught into an AppError (kind `internal`, code `INTERNAL`). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError('INTERNAL', message, { kind: 'internal', cause: err });
}
