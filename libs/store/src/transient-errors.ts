import pg from 'pg';
import { isBeneathSql } from '@linkflow/domain';
import { Prisma } from './generated/prisma/client.ts';

/**
 * SQLSTATEs that mean "try again": the server is shutting down or starting (57P01–57P03),
 * a deadlock or serialization failure (40P01, 40001), connection exceptions (08xxx), too
 * many connections (53300).
 */
const TRANSIENT_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '40P01',
  '40001',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
]);

/**
 * Prisma's codes for the database being out of reach (P1001 can't reach, P1002 timed out,
 * P1008 operation timed out, P1017 server closed the connection): the repositories that go
 * through Prisma report a vanished Postgres with these, not with the driver's error.
 */
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017']);

/**
 * Whether a failed store call is worth retrying, judged by the error's class and SQLSTATE,
 * never its text: a `DatabaseError` is the server answering (transient only for the codes
 * above); a system error (`syscall` set: refused, reset, timed out) or a plain `Error` from
 * the driver (a terminated or timed-out connection) is the connection failing beneath SQL;
 * Prisma reports an unreachable database by its connection codes or an initialization error.
 * Our own errors (AppError, TypeError and the like) are never transient.
 */
export function isTransientStoreError(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return TRANSIENT_SQLSTATES.has(err.code ?? '');
  if (err instanceof Prisma.PrismaClientKnownRequestError)
    return PRISMA_CONNECTION_CODES.has(err.code);
  if (err instanceof Prisma.PrismaClientInitializationError) return true;
  return isBeneathSql(err);
}
