import pg from 'pg';

/** Options for {@link createLeaderLock}. */
export interface LeaderLockOptions {
  /** Postgres URL (a Prisma-style `?schema=` is ignored: advisory locks are per database). */
  readonly url: string;
  /** What the lock guards, e.g. `sweeper:<queue>`; processes using the same name exclude each other. */
  readonly name: string;
  /** Shown as `application_name` in `pg_stat_activity`. */
  readonly applicationName?: string;
  /**
   * A holder that stops calling `hold` for this long (its process froze, its host hung) loses
   * the lock: Postgres ends the idle session (`idle_session_timeout`, Postgres 14+), which
   * frees the advisory lock for another process. Call `hold` more often than this.
   */
  readonly staleAfterMs: number;
  /** Receives connection errors (the lock is then given up and retried on the next `hold`). */
  readonly onError?: (err: unknown) => void;
}

/** A fleet-wide mutex: at most one process holds it at a time. */
export interface LeaderLock {
  /**
   * Takes the lock if nobody holds it, or confirms that this process still does. False when
   * another process holds it or Postgres is unreachable. Never throws.
   */
  hold(): Promise<boolean>;
  /** Gives the lock up (closes its connection). Idempotent. */
  release(): Promise<void>;
}

/**
 * A dedicated connection that never waits long: a hung lock query must not hang the sweeper
 * (`query_timeout` is client-side, so it fires even when the server or network hangs), and a
 * session left idle past `staleAfterMs` is ended by the server, lock and all.
 */
function newLockClient(url: string, options: LeaderLockOptions): pg.Client {
  const idleMs = Math.max(1, Math.round(options.staleAfterMs));
  return new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5_000,
    query_timeout: 5_000,
    keepAlive: true,
    options: `-c statement_timeout=5000 -c idle_session_timeout=${idleMs}`,
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
  });
}

/**
 * A session-level Postgres advisory lock on a dedicated connection (not a pooled one: the
 * lock belongs to the session). When the process or its connection dies, or the holder goes
 * quiet for `staleAfterMs` (a frozen process keeps its TCP session alive), Postgres drops
 * the lock with the session, so another process takes over on its next `hold`.
 */
export function createLeaderLock(options: LeaderLockOptions): LeaderLock {
  const url = new URL(options.url);
  url.searchParams.delete('schema');
  let client: pg.Client | undefined;
  let held = false;
  const drop = () => {
    const old = client;
    client = undefined;
    held = false;
    old?.end().catch(() => undefined);
  };
  const connect = async (): Promise<pg.Client> => {
    const c = newLockClient(url.toString(), options);
    c.on('error', (err) => {
      options.onError?.(err);
      if (client === c) drop();
    });
    c.on('end', () => {
      if (client === c) drop();
    });
    client = c;
    await c.connect();
    return c;
  };
  return {
    async hold() {
      try {
        const c = client ?? (await connect());
        if (held) {
          await c.query('select 1');
          return true;
        }
        const res = await c.query<{ ok: boolean }>(
          "select pg_try_advisory_lock(hashtext('linkflow'), hashtext($1)) as ok",
          [options.name],
        );
        held = res.rows[0]?.ok === true;
        return held;
      } catch (err) {
        options.onError?.(err);
        drop();
        return false;
      }
    },
    async release() {
      const old = client;
      client = undefined;
      held = false;
      await old?.end().catch(() => undefined);
    },
  };
}

/** What {@link createFleetLocks} names and how long each holder may stay silent. */
export interface FleetLockOptions {
  readonly url: string;
  readonly workerId: string;
  readonly queueName: string;
  readonly sweeperStaleAfterMs: number;
  readonly retentionStaleAfterMs: number;
  readonly onError: (task: 'sweeper' | 'retention', err: unknown) => void;
}

/**
 * The fleet-wide locks of an executor: one process sweeps a queue (`sweeper:<queue>`), one
 * runs retention for the database (`retention`). Their sessions carry the worker id in
 * `application_name`, so `pg_stat_activity` shows who holds each.
 */
export function createFleetLocks(o: FleetLockOptions): Record<'sweeper' | 'retention', LeaderLock> {
  const lock = (task: 'sweeper' | 'retention', name: string, staleAfterMs: number) =>
    createLeaderLock({
      url: o.url,
      name,
      applicationName: `linkflow-${task}:${o.workerId}`,
      staleAfterMs,
      onError: (err) => o.onError(task, err),
    });
  return {
    sweeper: lock('sweeper', `sweeper:${o.queueName}`, o.sweeperStaleAfterMs),
    retention: lock('retention', 'retention', o.retentionStaleAfterMs),
  };
}
