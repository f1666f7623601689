import { DatabaseError } from 'pg';
import { isBeneathSql } from '@linkflow/domain';
import { NodeError } from '../node-errors.ts';

/** What the mapping needs to word and classify a failure. */
export interface DbErrorContext {
  readonly connection: string;
  readonly readOnly: boolean;
  readonly timeoutMs: number;
}

/** SQLSTATEs that mean the session or server went away: another attempt may succeed. */
const CONNECTION_STATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300']);

/** SQLSTATEs that only need another attempt: serialization failure, deadlock, lock timeout. */
const TRANSIENT_STATES: ReadonlySet<string> = new Set(['40001', '40P01', '55P03']);

/**
 * Maps anything a query threw into a NodeError:
 * - connection failures (refused, reset, terminated, shutdown, too many connections) →
 *   CONNECTIVITY, retryable; authentication or unknown database → CONNECTIVITY, not retryable;
 * - SQLSTATE 57014 (statement timeout) → TIMEOUT, retryable;
 * - 25006 (write in a read-only transaction), and 25001 (`SET TRANSACTION READ WRITE` too late)
 *   under `read_only` → SECURITY when `read_only` was asked for (the workflow broke its own
 *   guard), else EXECUTION; 42501 (privilege) → SECURITY; neither retryable;
 * - 40001/40P01/55P03 (serialization, deadlock, lock timeout) → EXECUTION, retryable;
 * - any other SQL error → EXECUTION, not retryable, with the message and SQLSTATE.
 */
export function toDbError(err: unknown, ctx: DbErrorContext): NodeError {
  if (err instanceof NodeError) return err;
  if (err instanceof DatabaseError) return fromSqlState(err, ctx);
  const message = err instanceof Error ? err.message : String(err);
  // Below SQL (by class, not wording): the socket or the driver's connection failed.
  if (isBeneathSql(err)) {
    return new NodeError(
      'CONNECTIVITY',
      `database "${ctx.connection}" is unreachable: ${message}`,
      { retryable: true, cause: err },
    );
  }
  return new NodeError('EXECUTION', `query on "${ctx.connection}" failed: ${message}`, {
    retryable: false,
    cause: err,
  });
}

function fromSqlState(err: DatabaseError, ctx: DbErrorContext): NodeError {
  const code = err.code ?? '';
  const message = `${err.message} (SQLSTATE ${code})`;
  const options = { cause: err };
  if (code === '57014') {
    return new NodeError('TIMEOUT', `query timed out after ${ctx.timeoutMs} ms (SQLSTATE 57014)`, {
      ...options,
      retryable: true,
    });
  }
  // 25006: a write in a read-only transaction; 25001 under read_only: an attempt to switch the
  // transaction to read write after its snapshot.
  if (code === '25006' || (code === '25001' && ctx.readOnly)) {
    return new NodeError(ctx.readOnly ? 'SECURITY' : 'EXECUTION', message, {
      ...options,
      retryable: false,
    });
  }
  if (code === '42501') return new NodeError('SECURITY', message, { ...options, retryable: false });
  if (CONNECTION_STATES.has(code) || (code.startsWith('08') && code !== '08P01')) {
    return new NodeError('CONNECTIVITY', message, { ...options, retryable: true });
  }
  if (code.startsWith('28') || code === '3D000') {
    return new NodeError('CONNECTIVITY', `cannot use database "${ctx.connection}": ${message}`, {
      ...options,
      retryable: false,
    });
  }
  if (TRANSIENT_STATES.has(code))
    return new NodeError('EXECUTION', message, { ...options, retryable: true });
  return new NodeError('EXECUTION', message, { ...options, retryable: false });
}

/** The failure for a result larger than `max_rows` (the statement is rolled back). */
export function tooManyRowsError(maxRows: number): NodeError {
  return new NodeError(
    'EXECUTION',
    `query returned more than max_rows (${maxRows}) rows; add a LIMIT or raise max_rows`,
    {
      retryable: false,
    },
  );
}

/** The reason the node's own deadline aborts with; `abortError` returns it as is. */
export function deadlineError(timeoutMs: number, connection: string): NodeError {
  return new NodeError('TIMEOUT', `query on "${connection}" timed out after ${timeoutMs} ms`, {
    retryable: true,
  });
}

/**
 * A result over the byte budget (`max_bytes`). Its connection was cut mid-result, so the server
 * rolls the statement back; the session must be discarded and its backend cancelled.
 */
export class ResultTooLargeError extends NodeError {
  constructor(maxBytes: number) {
    super(
      'EXECUTION',
      `query result is over max_bytes (${maxBytes} bytes); select fewer or smaller rows`,
      { retryable: false },
    );
  }
}

/** A fresh {@link ResultTooLargeError} (one instance per throw). */
export function resultTooLargeError(maxBytes: number): ResultTooLargeError {
  return new ResultTooLargeError(maxBytes);
}

/**
 * The failure for a statement that would step out of the node's own transaction or change what
 * later sessions of the role see (`COMMIT`, `ALTER ROLE … SET`); it is rolled back where it can be.
 */
export function forbiddenStatementError(commandTag: string): NodeError {
  return new NodeError(
    'SECURITY',
    `${commandTag} is not allowed in a db node: each node runs one statement in its own transaction`,
    { retryable: false },
  );
}

/**
 * The failure for a statement that changed a role or role/database settings (`ALTER ROLE … PASSWORD`
 * or `… SET`, `CREATE`/`DROP ROLE`, `GRANT` of a role, `ALTER DATABASE`), however it was written
 * (also inside `DO` or a function): on a shared connection it would change every tenant's
 * sessions. It is rolled back.
 */
export function roleChangeError(): NodeError {
  return new NodeError(
    'SECURITY',
    'changing roles or role/database settings is not allowed in a db node (rolled back)',
    { retryable: false },
  );
}

/** The failure for `COPY … FROM STDIN` / `COPY … TO STDOUT` (rolled back). */
export function copyUnsupportedError(): NodeError {
  return new NodeError(
    'VALIDATION',
    'COPY FROM STDIN/TO STDOUT is not supported by the db node; use INSERT … SELECT or a SELECT',
    { retryable: false },
  );
}

/** The failure for a connection whose role is privileged (checked at first use). */
export function privilegedConnectionError(
  connection: string,
  reasons: readonly string[],
): NodeError {
  return new NodeError(
    'SECURITY',
    `connection "${connection}" is refused: ${reasons.join('; ')} (LINKFLOW_DB_ALLOW_PRIVILEGED=1 allows it)`,
    { retryable: false },
  );
}

/** The failure for a tenant using a connection the operator did not allow it. */
export function tenantNotAllowedError(connection: string): NodeError {
  return new NodeError('SECURITY', `connection "${connection}" is not allowed for this tenant`, {
    retryable: false,
  });
}
