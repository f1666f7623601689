import { describe, expect, it } from 'vitest';
import { DatabaseError } from 'pg';
import { NodeError } from '../node-errors.ts';
import { Value } from '@sinclair/typebox/value';
import { checkDbAccess, checkDbConfig, DbConfigSchema } from './db-config.ts';
import {
  forbiddenStatementError,
  privilegedConnectionError,
  resultTooLargeError,
  tenantNotAllowedError,
  toDbError,
} from './db-errors.ts';
import { readOnlyUrl } from './db-pools.ts';

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
  const connections = { main: { url: 'postgresql://x' }, replica: { url: 'postgresql://y' } };

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
      {
        path: '/config/connection',
        message: 'unknown connection "nope" (open to every tenant: main, replica)',
      },
    ]);
  });

  it('does not treat inherited object keys as connections', () => {
    expect(checkDbConfig({ connection: 'toString', query: 'select 1' }, connections)).toHaveLength(
      1,
    );
  });
});

describe('checkDbAccess', () => {
  const connections = {
    shared: { url: 'postgresql://x' },
    acme: { url: 'postgresql://y', tenants: ['acme', '0190-id'] },
  };

  it('lets every tenant use a bare URL and the listed tenants (by name or id) a restricted one', () => {
    expect(checkDbAccess({ connection: 'shared' }, connections, { id: 't1' })).toEqual([]);
    expect(checkDbAccess({ connection: 'acme' }, connections, { id: 't1', name: 'acme' })).toEqual(
      [],
    );
    expect(checkDbAccess({ connection: 'acme' }, connections, { id: '0190-id' })).toEqual([]);
  });

  it('names the connection field for a tenant that is not listed', () => {
    expect(checkDbAccess({ connection: 'acme' }, connections, { id: 't2', name: 'dev' })).toEqual([
      {
        path: '/config/connection',
        message:
          'connection "acme" is not allowed for this tenant (the operator restricts it to other tenants)',
      },
    ]);
  });

  it('leaves unknown connections and invalid configs to checkDbConfig', () => {
    expect(checkDbAccess({ connection: 'nope' }, connections, { id: 't' })).toEqual([]);
    expect(checkDbAccess({ connection: 3 }, connections, { id: 't' })).toEqual([]);
  });

  it('hides restricted connections from the unknown-connection hint', () => {
    expect(checkDbConfig({ connection: 'x', query: 'select 1' }, connections)[0]?.message).toBe(
      'unknown connection "x" (open to every tenant: shared)',
    );
  });
});

describe('db node config schema', () => {
  it('caps timeout_ms at 5 minutes and accepts max_bytes', () => {
    const ok = { connection: 'main', query: 'select 1', timeout_ms: 300_000, max_bytes: 1024 };
    expect(Value.Check(DbConfigSchema, ok)).toBe(true);
    expect(Value.Check(DbConfigSchema, { ...ok, timeout_ms: 300_001 })).toBe(false);
    expect(Value.Check(DbConfigSchema, { ...ok, max_bytes: 0 })).toBe(false);
  });
});

describe('db error catalog', () => {
  it('treats a late SET TRANSACTION READ WRITE under read_only as SECURITY', () => {
    expect(toDbError(sqlError('25001'), { ...ctx, readOnly: true }).type).toBe('SECURITY');
    expect(toDbError(sqlError('25001'), ctx).type).toBe('EXECUTION');
  });

  it('words the refusals', () => {
    expect(resultTooLargeError(10).message).toContain('max_bytes (10 bytes)');
    expect(forbiddenStatementError('COMMIT')).toMatchObject({ type: 'SECURITY', retryable: false });
    expect(privilegedConnectionError('main', ['role "p" is a superuser']).message).toBe(
      'connection "main" is refused: role "p" is a superuser (LINKFLOW_DB_ALLOW_PRIVILEGED=1 allows it)',
    );
    expect(tenantNotAllowedError('main').type).toBe('SECURITY');
  });
});

describe('readOnlyUrl', () => {
  it('adds default_transaction_read_only to the startup options, keeping existing ones', () => {
    expect(readOnlyUrl('postgresql://u@h/db')).toBe(
      'postgresql://u@h/db?options=-c+default_transaction_read_only%3Don',
    );
    expect(readOnlyUrl('postgresql://u@h/db?options=-c%20work_mem%3D4MB&sslmode=disable')).toBe(
      'postgresql://u@h/db?options=-c+work_mem%3D4MB+-c+default_transaction_read_only%3Don&sslmode=disable',
    );
  });
});
