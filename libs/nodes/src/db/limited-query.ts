import { Query, type ClientBase, type Connection, type QueryConfig, type QueryResultRow } from 'pg';

/** Rows read by a row-limited query, and whether more were waiting on the server. */
export interface LimitedResult {
  readonly rows: QueryResultRow[];
  /** Affected or returned rows as the server's command tag reports them; null when truncated. */
  readonly rowCount: number | null;
  /** True when the server had more than `fetch` rows; only `fetch` were transferred. */
  readonly truncated: boolean;
}

/** node-postgres' Submittable hooks that `Query` implements but its typings do not declare. */
interface QueryHooks {
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
 */
class LimitedQuery extends Query {
  truncated = false;
  private synced = false;

  handlePortalSuspended(connection: Connection): void {
    this.truncated = true;
    this.sync(connection);
  }

  handleCommandComplete(msg: unknown, connection: Connection): void {
    this.synced = true; // Query syncs after CommandComplete when `rows` is set
    base.handleCommandComplete.call(this, msg, connection);
  }

  handleEmptyQuery(connection: Connection): void {
    this.synced = true; // likewise
    base.handleEmptyQuery.call(this, connection);
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

/** A statement and how many rows to transfer at most. */
export interface LimitedStatement {
  readonly text: string;
  readonly values: unknown[];
  readonly fetch: number;
}

/**
 * Runs `text` with `values` on `client`, transferring at most `fetch` rows.
 * @throws whatever node-postgres reports (DatabaseError, connection errors); callers map it.
 */
export function queryLimited(
  client: ClientBase,
  { text, values, fetch }: LimitedStatement,
): Promise<LimitedResult> {
  return new Promise((resolve, reject) => {
    const config: QueryConfig<unknown[]> & { rows: number } = { text, values, rows: fetch };
    const query: LimitedQuery = new LimitedQuery(config, (err, result) => {
      if (err !== undefined && err !== null) reject(err);
      else
        resolve({
          rows: result.rows as QueryResultRow[],
          rowCount: query.truncated ? null : result.rowCount,
          truncated: query.truncated,
        });
    });
    client.query(query);
  });
}
