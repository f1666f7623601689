import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { AppError } from '@linkflow/domain';
import { Prisma } from './generated/prisma/client.ts';
import { isTransientStoreError } from './transient-errors.ts';

const serverError = (code: string) => {
  const err = new pg.DatabaseError('server said no', 0, 'error');
  err.code = code;
  return err;
};

describe('isTransientStoreError', () => {
  it('retries the server answers that mean try again, by SQLSTATE', () => {
    for (const code of ['57P01', '40P01', '40001', '08006', '53300'])
      expect(isTransientStoreError(serverError(code))).toBe(true);
  });

  it('does not retry a server answer about the statement itself', () => {
    for (const code of ['42601', '23505', '22021', '42501'])
      expect(isTransientStoreError(serverError(code))).toBe(false);
  });

  it('retries connection failures beneath SQL, whatever their message says', () => {
    const refused = Object.assign(new Error('anything'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    expect(isTransientStoreError(refused)).toBe(true);
    expect(isTransientStoreError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('never retries our own errors or programming errors', () => {
    expect(
      isTransientStoreError(new AppError('X', 'connection terminated', { kind: 'internal' })),
    ).toBe(false);
    expect(isTransientStoreError(new TypeError('Connection terminated'))).toBe(false);
    expect(isTransientStoreError('Connection terminated')).toBe(false);
  });

  it("treats Prisma's database-unreachable codes as transient, its query errors not", () => {
    const prismaError = (code: string) =>
      new Prisma.PrismaClientKnownRequestError('prisma said', { code, clientVersion: 'test' });
    for (const code of ['P1001', 'P1002', 'P1008', 'P1017'])
      expect(isTransientStoreError(prismaError(code)), code).toBe(true);
    for (const code of ['P2002', 'P2025'])
      expect(isTransientStoreError(prismaError(code)), code).toBe(false);
  });
});
