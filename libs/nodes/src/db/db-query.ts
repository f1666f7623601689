import type { ClientBase, QueryResultRow } from 'pg';
import { abortError } from '../node-errors.ts';
import type { PoolSet } from './db-pools.ts';
import {
  forbiddenStatementError,
  ResultTooLargeError,
  roleChangeError,
  toDbError,
  tooManyRowsError,
} from './db-errors.ts';
import { queryLimited } from './limited-query.ts';
import {
  acquire,
  cancelAndDiscard,
  openSession,
  untilAborted,
  type Session,
} from './db-session.ts';

/** One statement to run, with everything already resolved from config and server limits. */
export interface QueryRequest {
  readonly connection: string;
  readonly sql: string;
  readonly params: unknown[];
  readonly maxRows: number;
  /** The most bytes of result to read from the server. */
  readonly maxBytes: number;
  readonly readOnly: boolean;
  readonly timeoutMs: number;
}

export interface QueryOutcome {
  readonly rows: QueryResultRow[];
  /** Rows returned, or affected for INSERT/UPDATE/DELETE without RETURNING. */
  readonly rowCount: number;
  readonly queryMs: number;
}

/** Runs before the statement on a fresh session (the first-use privilege check). */
export type SessionCheck = (connection: string, client: ClientBase) => Promise<void>;

/** Postgres' `statement_timeout` is an int4 of milliseconds. */
const MAX_STATEMENT_TIMEOUT_MS = 2_147_483_647;

/**
 * Command tags of statements that end, nest or prepare the node's transaction. One extended-
 * protocol statement can still be a `COMMIT`; it is refused (and rolled back where it can be)
 * because the node's transaction, its READ ONLY mode and its rollback on failure are the contract.
 */
const TRANSACTION_CONTROL =
  /^(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PREPARE TRANSACTION)\b/;

/**
 * Whether this transaction changed a role, role membership or role/database settings. Those
 * commands keep a RowExclusiveLock on the shared catalog they wrote until the transaction ends,
 * and `pg_locks` shows it to the role itself, so this sees them however the statement was
 * written (`DO`, `EXECUTE`, a function), unlike a look at its text or command tag.
 */
const ROLE_CHANGE_QUERY = `select exists (
    select 1 from pg_locks
     where pid = pg_backend_pid() and locktype = 'relation' and mode <> 'AccessShareLock'
       and relation = any (array['pg_authid', 'pg_auth_members', 'pg_db_role_setting',
                                 'pg_database']::regclass[])) as changed`;

/**
 * Runs one parameterized statement in its own transaction:
 * `BEGIN [READ ONLY]; SET LOCAL statement_timeout = <timeoutMs>` → statement (at most
 * maxRows + 1 rows and maxBytes bytes transferred) → `COMMIT`, or `ROLLBACK` on any failure,
 * including a result over `maxRows` (so an oversized `INSERT … RETURNING` changes nothing).
 * A `readOnly` statement runs on a session that is read-only by default, in a READ ONLY
 * transaction that has already taken its snapshot, so the statement cannot switch it to read
 * write. The session is reset (`DISCARD ALL`) before it serves another run.
 * On abort it rejects at once with `abortError(signal)`, cancels the statement on the server
 * with `pg_cancel_backend` from a side connection, then destroys the client; a result over
 * `maxBytes` does the same.
 * @throws NodeError (see `toDbError`), CANCELLATION/TIMEOUT on abort.
 */
export async function runQuery(
  pools: PoolSet,
  req: QueryRequest,
  signal: AbortSignal,
  check?: SessionCheck,
): Promise<QueryOutcome> {
  const errCtx = { connection: req.connection, readOnly: req.readOnly, timeoutMs: req.timeoutMs };
  if (signal.aborted) throw abortError(signal);
  let session: Session;
  try {
    const pool = pools.get(req.connection, req.readOnly ? 'read_only' : 'read_write');
    session = openSession(await acquire(pool, signal));
  } catch (err) {
    throw toDbError(err, errCtx);
  }
  const work = (async () => {
    await check?.(req.connection, session.client);
    return runInTransaction(session, req);
  })();
  try {
    const outcome = await untilAborted(work, signal);
    session.release(false);
    return outcome;
  } catch (err) {
    if (signal.aborted || err instanceof ResultTooLargeError) {
      void cancelAndDiscard(pools.url(req.connection), session, work);
      throw signal.aborted ? abortError(signal) : toDbError(err, errCtx);
    }
    session.release(session.broken);
    throw toDbError(err, errCtx);
  }
}

async function runInTransaction(session: Session, req: QueryRequest): Promise<QueryOutcome> {
  const { client } = session;
  const timeout = Math.min(Math.max(1, Math.trunc(req.timeoutMs)), MAX_STATEMENT_TIMEOUT_MS);
  try {
    // Every value is ours (keywords and an integer), so this text holds no user input. The
    // `SELECT 1` takes the READ ONLY transaction's first snapshot: from then on Postgres refuses
    // `SET TRANSACTION READ WRITE` (and its set_config form) inside it.
    await client.query(
      req.readOnly
        ? `BEGIN READ ONLY; SET LOCAL statement_timeout = ${timeout}; SELECT 1`
        : `BEGIN; SET LOCAL statement_timeout = ${timeout}`,
    );
    const started = performance.now();
    const result = await queryLimited(client, {
      text: req.sql,
      values: req.params,
      fetch: req.maxRows + 1,
      maxBytes: req.maxBytes,
    });
    const queryMs = Math.round(performance.now() - started);
    if (result.truncated || result.rows.length > req.maxRows) throw tooManyRowsError(req.maxRows);
    const control = TRANSACTION_CONTROL.exec(result.commandTag ?? '');
    if (control) throw forbiddenStatementError(control[1] ?? 'transaction control');
    if (!req.readOnly) await refuseRoleChange(session);
    await client.query('COMMIT');
    return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length, queryMs };
  } catch (err) {
    // Over the byte budget the socket is gone already; the server rolls back on its own.
    if (err instanceof ResultTooLargeError) session.broken = true;
    else
      await client.query('ROLLBACK').catch(() => {
        session.broken = true;
      });
    throw err;
  }
}

/** Throws `roleChangeError` when the open transaction changed a role or its settings. */
async function refuseRoleChange(session: Session): Promise<void> {
  const { rows } = await session.client.query<{ changed: boolean }>(ROLE_CHANGE_QUERY);
  if (rows[0]?.changed === true) throw roleChangeError();
}
