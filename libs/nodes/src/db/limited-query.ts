import { Query, type ClientBase, type Connection, type QueryConfig, type QueryResultRow } from 'pg';
import { copyUnsupportedError, resultTooLargeError } from './db-errors.ts';

/** Rows read by a row-limited query, and whether more were waiting on the server. */
export interface LimitedResult {
  readonly rows: QueryResultRow[];
  /** Affected or returned rows as the server's command tag reports them; null when truncated. */
  readonly rowCount: number | null;
  /** True when the server had more than `fetch` rows; only `fetch` were transferred. */
  readonly truncated: boolean;
  /** The server's command tag (`SELECT 3`, `COMMIT`, `ALTER ROLE`), or undefined when truncated. */
  readonly commandTag: string | undefined;
}

/** node-postgres' Submittable hooks that `Query` implements but its typings do not declare. */
interface QueryHooks {
  submit(connection: Connection): Error | null;
  handleCommandComplete(msg: unknown, connection: Connection): void;
  handleEmptyQuery(connection: Connection): void;
  handleError(err: Error, connection: Connection): void;
}

const base = Query.prototype as unknown as QueryHooks;

/**
 * A parameterized query that asks the server for at most `rows` rows (extended protocol
 * `Execute` with a row limit). node-postgres' `Query` fetches the next page on
 * `PortalSuspended`; this one stops there and syncs instead, so a huge result is never
 * transferred. It also sends the `Sync` node-postgres omits after an error in this mode
 * (without it the connection would wait for a ReadyForQuery that never comes).
 *
 * Bytes are counted as they arrive on the socket, before the protocol parser buffers them:
 * past `maxBytes` the socket is destroyed at once, so one huge row (which the driver would
 * buffer whole) costs at most the budget plus one chunk of memory.
 */

class LimitedQuery extends Query {
  truncated = false;
  overBudget = false;
  /** The statement was a `COPY … FROM STDIN` or `COPY … TO STDOUT` (the node streams neither). */
  copy = false;
  commandTag: string | undefined;
  onOverBudget: () => void = () => undefined;
  private synced = false;
  private received = 0;
  private detach: () => void = () => undefined;

  constructor(
    config: QueryConfig<unknown[]> & { rows: number },
    private readonly maxBytes: number,
    callback: (
      err: Error | undefined,
      result: { rows: unknown[]; rowCount: number | null },
    ) => void,
  ) {
    super(config, undefined, callback as never);
  }

  // A property because node-postgres' typings declare `submit` as one.
  override submit = (connection: Connection): void => {
    const stream = connection.stream;
    const count = (chunk: Buffer): void => {
      this.received += chunk.length;
      if (this.received <= this.maxBytes || this.overBudget) return;
      this.overBudget = true;
      this.detach();
      stream.destroy();
      this.onOverBudget();
    };
    // Prepended: counted (and cut) before the parser copies the chunk into its buffer.
    stream.prependListener('data', count);
    this.detach = () => stream.removeListener('data', count);
    const error = base.submit.call(this, connection);
    if (error) this.detach();
    // node-postgres reports a returned Error itself (its Query.submit contract).
    return error as unknown as void;
  };

  done(): void {
    this.detach();
  }

  handlePortalSuspended(connection: Connection): void {
    this.truncated = true;
    this.sync(connection);
  }

  handleCommandComplete(msg: unknown, connection: Connection): void {
    this.synced = true; // Query syncs after CommandComplete when `rows` is set
    const text: unknown = Reflect.get(msg as object, 'text');
    this.commandTag = typeof text === 'string' ? text : undefined;
    base.handleCommandComplete.call(this, msg, connection);
  }

  handleEmptyQuery(connection: Connection): void {
    this.synced = true; // likewise
    base.handleEmptyQuery.call(this, connection);
  }

  // `COPY … FROM STDIN`: end the copy at once (the server then fails the statement), instead of
  // node-postgres' default which reports it as a cancel (SQLSTATE 57014, read as TIMEOUT).
  handleCopyInResponse(connection: Connection): void {
    this.copy = true;
    // node-postgres has `sendCopyFail` but its typings do not declare it.
    const copyFail = Reflect.get(connection, 'sendCopyFail') as (
      this: Connection,
      msg: string,
    ) => void;
    copyFail.call(connection, copyUnsupportedError().message);
  }

  // `COPY … TO STDOUT` data: not rows, dropped (its bytes still count against the budget).
  handleCopyData(): void {
    this.copy = true;
  }

  handleError(err: Error, connection: Connection): void {
    if (connection.stream.writable) this.sync(connection);
    base.handleError.call(this, err, connection);
  }

  private sync(connection: Connection): void {
    if (this.synced) return;
    this.synced = true;
    connection.sync();
  }
}

/** A statement, how many rows to transfer at most, and how many bytes to read at most. */
export interface LimitedStatement {
  readonly text: string;
  readonly values: unknown[];
  readonly fetch: number;
  readonly maxBytes: number;
}

/**
 * Runs `text` with `values` on `client` as one extended-protocol statement (which cannot hold
 * several statements), transferring at most `fetch` rows and reading at most `maxBytes` bytes.
 * Past the byte budget it rejects at once with `resultTooLargeError`, and the client's socket is
 * already destroyed: the caller must discard the client (and cancel the backend).
 * @throws whatever node-postgres reports (DatabaseError, connection errors); callers map it.
 */
export function queryLimited(
  client: ClientBase,
  { text, values, fetch, maxBytes }: LimitedStatement,
): Promise<LimitedResult> {
  return new Promise((resolve, reject) => {
    const config = { text, values, rows: fetch, queryMode: 'extended' as const };
    const query: LimitedQuery = new LimitedQuery(config, maxBytes, (err, result) => {
      query.done();
      if (query.overBudget) reject(resultTooLargeError(maxBytes));
      else if (query.copy) reject(copyUnsupportedError());
      else if (err !== undefined && err !== null) reject(err);
      else
        resolve({
          rows: result.rows as QueryResultRow[],
          rowCount: query.truncated ? null : result.rowCount,
          truncated: query.truncated,
          commandTag: query.truncated ? undefined : query.commandTag,
        });
    });
    query.onOverBudget = () => reject(resultTooLargeError(maxBytes));
    client.query(query);
  });
}
