import type pg from 'pg';
import { levelsFrom, type LogLevel, type NewLogEntry } from '@linkflow/domain';
import type { LogEntry } from './records.ts';

export interface LogQuery {
  readonly minLevel?: LogLevel | undefined;
  readonly nodeId?: string | undefined;
  readonly q?: string | undefined;
  readonly after?: number | undefined;
  readonly limit: number;
}

/**
 * Appends entries with consecutive per-execution sequence numbers in one statement: the
 * counter on the execution row hands out the range, so concurrent writers never collide.
 * Returns the stored entries (with seq), or [] when the execution does not exist.
 */
export const APPEND_LOGS_SQL = `with s as (
    update executions set log_seq = log_seq + $2 where id = $1 returning log_seq
  )
  insert into execution_logs (execution_id, seq, at, level, node_id, message, data)
  select $1, s.log_seq - $2 + t.ord, t.at, t.level, t.node_id, t.message, t.data
  from s, unnest($3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
    with ordinality as t(at, level, node_id, message, data, ord)
  returning seq`;

export function appendLogArgs(executionId: string, entries: readonly NewLogEntry[]): unknown[] {
  return [
    executionId,
    entries.length,
    entries.map((e) => e.at),
    entries.map((e) => e.level),
    entries.map((e) => e.nodeId),
    entries.map((e) => e.message),
    entries.map((e) => (e.data === undefined ? null : JSON.stringify(e.data))),
  ];
}

export function createLogRepository(deps: { pool: pg.Pool }) {
  const { pool } = deps;
  return {
    async append(executionId: string, entries: readonly NewLogEntry[]): Promise<LogEntry[]> {
      if (entries.length === 0) return [];
      const res = await pool.query<{ seq: number }>(
        APPEND_LOGS_SQL,
        appendLogArgs(executionId, entries),
      );
      return res.rows.map((row, i) => {
        const e = entries[i] as NewLogEntry;
        return {
          seq: row.seq,
          at: e.at,
          level: e.level,
          nodeId: e.nodeId,
          message: e.message,
          data: e.data ?? null,
        };
      });
    },

    /** Entries in sequence order, filtered by minimum level, node, substring and `after`. */
    async list(executionId: string, query: LogQuery): Promise<LogEntry[]> {
      const where = ['execution_id = $1'];
      const args: unknown[] = [executionId];
      const add = (sql: string, value: unknown) => {
        args.push(value);
        where.push(sql.replaceAll('?', `$${args.length}`));
      };
      if (query.minLevel !== undefined) add('level = any(?)', levelsFrom(query.minLevel));
      if (query.nodeId !== undefined) add('node_id = ?', query.nodeId);
      if (query.q !== undefined) add(`strpos(lower(message), lower(?)) > 0`, query.q);
      if (query.after !== undefined) add('seq > ?', query.after);
      args.push(query.limit);
      const res = await pool.query<{
        seq: number;
        at: Date;
        level: LogLevel;
        node_id: string | null;
        message: string;
        data: unknown;
      }>(
        `select seq, at, level, node_id, message, data from execution_logs where ${where.join(' and ')} order by seq limit $${args.length}`,
        args,
      );
      return res.rows.map((r) => ({
        seq: r.seq,
        at: r.at,
        level: r.level,
        nodeId: r.node_id,
        message: r.message,
        data: r.data,
      }));
    },
  };
}

export type LogRepository = ReturnType<typeof createLogRepository>;
