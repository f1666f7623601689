import { describe, expect, it } from 'vitest';
import { DatabaseError } from 'pg';
import { NodeError } from '../node-errors.ts';
import { checkDbConfig } from './db-config.ts';
import { toDbError } from './db-errors.ts';

const ctx = { connection: 'main', readOnly: false, timeoutMs: 250 };

function sqlError(code: string, message = 'boom'): DatabaseError {
  const err = new DatabaseError(message, message.length, 'error');
  err.code = code;
  return err;
}

describe('toDbError', () => {
  it.each([
    ['57014', 'TIMEOUT', true],
    ['25006', 'EXECUTION', false],
    ['42501', 'SECURITY', false],
    ['08006', 'CONNECTIVITY', true],
    ['57P01', 'CONNECTIVITY', true],
    ['53300', 'CONNECTIVITY', true],
    ['28P01', 'CONNECTIVITY', false],
    ['3D000', 'CONNECTIVITY', false],
    ['08P01', 'EXECUTION', false],
    ['40001', 'EXECUTION', true],
    ['40P01', 'EXECUTION', true],
    ['23505', 'EXECUTION', false],
  ])('maps SQLSTATE %s to %s (retryable %s)', (code, type, retryable) => {
    const err = toDbError(sqlError(code), ctx);
    expect(err).toMatchObject({ type, retryable });
    expect(err.message).toContain(`SQLSTATE ${code}`);
  });

  it('treats a write under read_only as SECURITY', () => {
    expect(toDbError(sqlError('25006'), { ...ctx, readOnly: true })).toMatchObject({
      type: 'SECURITY',
      retryable: false,
    });
  });

  it('names the timeout for a statement timeout', () => {
    expect(toDbError(sqlError('57014'), ctx).message).toBe(
      'query timed out after 250 ms (SQLSTATE 57014)',
    );
  });

  it('maps socket failures to retryable CONNECTIVITY and keeps NodeErrors', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    expect(toDbError(refused, ctx)).toMatchObject({ type: 'CONNECTIVITY', retryable: true });
    expect(toDbError(new Error('Connection terminated unexpectedly'), ctx).type).toBe(
      'CONNECTIVITY',
    );
    const own = new NodeError('CANCELLATION', 'node was cancelled');
    expect(toDbError(own, ctx)).toBe(own);
    expect(toDbError('weird', ctx)).toMatchObject({ type: 'EXECUTION', retryable: false });
  });
});

describe('checkDbConfig', () => {
  const connections = { main: 'postgresql://x', replica: 'postgresql://y' };

  it('accepts a parameterized query on a known connection', () => {
    expect(
      checkDbConfig({ connection: 'main', query: 'select $1', params: [1] }, connections),
    ).toEqual([]);
  });

  it('reports templates in SQL and unknown connections together', () => {
    const problems = checkDbConfig(
      { connection: 'nope', query: "select '{{ input.x }}'" },
      connections,
    );
    expect(problems).toEqual([
      { path: '/config/query', message: 'templates are not allowed in SQL; use $1..$n params' },
      { path: '/config/connection', message: 'unknown connection "nope" (known: main, replica)' },
    ]);
  });

  it('does not treat inherited object keys as connections', () => {
    expect(checkDbConfig({ connection: 'toString', query: 'select 1' }, connections)).toHaveLength(
      1,
    );
  });
});
