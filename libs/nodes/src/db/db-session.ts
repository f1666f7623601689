import { Client, type Pool, type PoolClient } from 'pg';
import { abortError } from '../node-errors.ts';

/** A checked-out client, released exactly once. */
export interface Session {
  readonly client: PoolClient;
  readonly pid: number | undefined;
  broken: boolean;
  /**
   * Gives the client back: destroyed when `destroy`, else reset with `DISCARD ALL` first (in the
   * background) and destroyed if the reset fails.
   */
  release(destroy: boolean): void;
}

/** How long an aborted query may take to unwind after its cancel before its client is destroyed. */
const UNWIND_MS = 1000;

/** A `DISCARD ALL` slower than this means something is wrong with the session: destroy it. */
const RESET_TIMEOUT_MS = 5000;

/** `pool.connect()` that gives up when `signal` aborts (a late client goes back to the pool). */
export function acquire(pool: Pool, signal: AbortSignal): Promise<PoolClient> {
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

/**
 * Wraps a checked-out client. Every release that keeps the client runs `DISCARD ALL` first, so
 * nothing a run did to its session reaches the next run on that pool (possibly another tenant's):
 * `SET` / `SET ROLE` values, session advisory locks (DISCARD ALL runs
 * `pg_advisory_unlock_all()`), temporary tables, prepared statements, `LISTEN`s, cursors.
 * `RESET ALL` returns settings to the session's start values, so a read-only pool's
 * `default_transaction_read_only=on` (a startup option) survives it.
 */
export function openSession(client: PoolClient): Session {
  // A checked-out client has no pool error listener; an 'error' event would crash the process.
  const onError = (): void => {
    session.broken = true;
  };
  client.on('error', onError);
  const pid: unknown = Reflect.get(client, 'processID');
  let released = false;
  const giveBack = (destroy: boolean): void => {
    client.removeListener('error', onError);
    client.release(destroy || session.broken);
  };
  const session: Session = {
    client,
    pid: typeof pid === 'number' ? pid : undefined,
    broken: false,
    release(destroy) {
      if (released) return;
      released = true;
      if (destroy || session.broken) return giveBack(true);
      void resetThen(client, giveBack);
    },
  };
  return session;
}

/** `DISCARD ALL`, then `giveBack(false)`; on failure or when it takes too long, `giveBack(true)`. */
async function resetThen(client: PoolClient, giveBack: (destroy: boolean) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), RESET_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([
      client.query('DISCARD ALL').then(() => 'ok' as const),
      late,
    ]);
    giveBack(outcome !== 'ok');
  } catch {
    giveBack(true);
  } finally {
    clearTimeout(timer);
  }
}

/** `work`, or a rejection with `abortError(signal)` as soon as `signal` aborts. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
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
 * then destroys the client so no transaction state survives. A statement still running after
 * the wait (a `DO` loop can catch its cancel and go on) has its backend terminated: a role may
 * terminate its own backends, and left running it would hold a connection slot and its
 * transaction's locks.
 */
export async function cancelAndDiscard(
  url: string,
  session: Session,
  work: Promise<unknown>,
): Promise<void> {
  const { pid } = session;
  if (pid !== undefined) await signalBackend(url, pid, 'cancel').catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const unwound = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), UNWIND_MS);
  });
  const outcome = await Promise.race([
    work.then(
      () => 'done' as const,
      () => 'done' as const,
    ),
    unwound,
  ]);
  clearTimeout(timer);
  if (outcome === 'late' && pid !== undefined)
    await signalBackend(url, pid, 'terminate').catch(() => undefined);
  session.release(true);
}

/**
 * `pg_cancel_backend(pid)` or `pg_terminate_backend(pid)` from a short-lived connection outside
 * the pool (which may be full).
 */
async function signalBackend(
  url: string,
  pid: number,
  signal: 'cancel' | 'terminate',
): Promise<void> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: 2000,
    application_name: 'linkflow-db-cancel',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(
      signal === 'cancel' ? 'select pg_cancel_backend($1)' : 'select pg_terminate_backend($1)',
      [pid],
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
