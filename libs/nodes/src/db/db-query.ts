import { Client, type Pool, type PoolClient, type QueryResultRow } from 'pg';
import { abortError } from '../node-errors.ts';
import type { PoolSet } from './db-pools.ts';
import { toDbError, tooManyRowsError } from './db-errors.ts';
import { queryLimited } from './limited-query.ts';

/** One statement to run, with everything already resolved from config and server limits. */
export interface QueryRequest {
  readonly connection: string;
  readonly sql: string;
  readonly params: unknown[];
  readonly maxRows: number;
  readonly readOnly: boolean;
  readonly timeoutMs: number;
}

export interface QueryOutcome {
  readonly rows: QueryResultRow[];
  /** Rows returned, or affected for INSERT/UPDATE/DELETE without RETURNING. */
  readonly rowCount: number;
  readonly queryMs: number;
}

/** A checked-out client, released exactly once. */
interface Session {
  readonly client: PoolClient;
  readonly pid: number | undefined;
  broken: boolean;
  release(destroy: boolean): void;
}

/** How long an aborted query may take to unwind after its cancel before its client is destroyed. */
const UNWIND_MS = 1000;

/** Postgres' `statement_timeout` is an int4 of milliseconds. */
const MAX_STATEMENT_TIMEOUT_MS = 2_147_483_647;

/**
 * Runs one parameterized statement in its own transaction:
 * `BEGIN [READ ONLY]; SET LOCAL statement_timeout = <timeoutMs>` → statement (at most
 * maxRows + 1 rows transferred) → `COMMIT`, or `ROLLBACK` on any failure, including a result
 * over `maxRows` (so an oversized `INSERT … RETURNING` changes nothing).
 * On abort it rejects at once with `abortError(signal)`, cancels the statement on the server
 * with `pg_cancel_backend` from a side connection, then destroys the client.
 * @throws NodeError (see `toDbError`), CANCELLATION/TIMEOUT on abort.
 */
export async function runQuery(
  pools: PoolSet,
  req: QueryRequest,
  signal: AbortSignal,
): Promise<QueryOutcome> {
  const errCtx = { connection: req.connection, readOnly: req.readOnly, timeoutMs: req.timeoutMs };
  if (signal.aborted) throw abortError(signal);
  let session: Session;
  try {
    session = openSession(await acquire(pools.get(req.connection), signal));
  } catch (err) {
    throw toDbError(err, errCtx);
  }
  const work = runInTransaction(session, req);
  try {
    const outcome = await untilAborted(work, signal);
    session.release(false);
    return outcome;
  } catch (err) {
    if (signal.aborted) {
      void cancelAndDiscard(pools.url(req.connection), session, work);
      throw abortError(signal);
    }
    session.release(session.broken);
    throw toDbError(err, errCtx);
  }
}

/** `pool.connect()` that gives up when `signal` aborts (a late client goes back to the pool). */
function acquire(pool: Pool, signal: AbortSignal): Promise<PoolClient> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    pool.connect().then(
      (client) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) client.release();
        else resolve(client);
      },
      (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function openSession(client: PoolClient): Session {
  // A checked-out client has no pool error listener; an 'error' event would crash the process.
  const onError = (): void => {
    session.broken = true;
  };
  client.on('error', onError);
  const pid: unknown = Reflect.get(client, 'processID');
  let released = false;
  const session: Session = {
    client,
    pid: typeof pid === 'number' ? pid : undefined,
    broken: false,
    release(destroy) {
      if (released) return;
      released = true;
      client.removeListener('error', onError);
      client.release(destroy);
    },
  };
  return session;
}

async function runInTransaction(session: Session, req: QueryRequest): Promise<QueryOutcome> {
  const { client } = session;
  const timeout = Math.min(Math.max(1, Math.trunc(req.timeoutMs)), MAX_STATEMENT_TIMEOUT_MS);
  try {
    // Both values are ours (a keyword and an integer), so this text holds no user input.
    await client.query(
      `BEGIN${req.readOnly ? ' READ ONLY' : ''}; SET LOCAL statement_timeout = ${timeout}`,
    );
    const started = performance.now();
    const result = await queryLimited(client, {
      text: req.sql,
      values: req.params,
      fetch: req.maxRows + 1,
    });
    const queryMs = Math.round(performance.now() - started);
    if (result.truncated || result.rows.length > req.maxRows) throw tooManyRowsError(req.maxRows);
    await client.query('COMMIT');
    return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length, queryMs };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      session.broken = true;
    });
    throw err;
  }
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/**
 * Stops an abandoned statement on the server (closing our socket would not: a backend in
 * `pg_sleep` or a long scan does not notice a gone client), waits briefly for it to unwind,
 * then destroys the client so no transaction state survives.
 */
async function cancelAndDiscard(
  url: string,
  session: Session,
  work: Promise<unknown>,
): Promise<void> {
  if (session.pid !== undefined) await cancelBackend(url, session.pid).catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const unwound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, UNWIND_MS);
  });
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    unwound,
  ]);
  clearTimeout(timer);
  session.release(true);
}

/** `pg_cancel_backend(pid)` from a short-lived connection outside the pool (which may be full). */
async function cancelBackend(url: string, pid: number): Promise<void> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: 2000,
    application_name: 'linkflow-db-cancel',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select pg_cancel_backend($1)', [pid]);
  } finally {
    await client.end().catch(() => undefined);
  }
}
