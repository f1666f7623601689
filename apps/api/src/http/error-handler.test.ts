import { describe, expect, it } from 'vitest';
import { AppError, domainErrors, ERROR_KINDS } from '@linkflow/domain';
import { apiErrors } from './api-errors.ts';
import { toProblem } from './error-handler.ts';

describe('toProblem', () => {
  it('answers 422 for the unprocessable kind', () => {
    const problem = toProblem(
      domainErrors.invalidWorkflow([{ path: '/nodes', message: 'x' }]),
      'r1',
    );

    expect(problem).toMatchObject({ status: 422, title: 'Unprocessable Content', instance: 'r1' });
    expect(toProblem(apiErrors.workflowNotRunnable([]), 'r2').status).toBe(422);
  });

  it('hides an internal error but tells what is unavailable', () => {
    const internal = toProblem(
      new AppError('DB_BUG', 'select failed at x', { kind: 'internal' }),
      'r',
    );
    expect(internal).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(internal.detail).not.toContain('select');
    const missing = new AppError('SECRETS_KEY_MISSING', 'no key', { kind: 'unavailable' });
    expect(toProblem(missing, 'r')).toMatchObject({
      status: 503,
      code: 'SECRETS_KEY_MISSING',
      detail: 'no key',
    });
  });

  it('takes the status from the kind alone, never from details', () => {
    const error = new AppError('SOMETHING', 'bad', { kind: 'user', details: { status: 422 } });

    expect(toProblem(error, 'r').status).toBe(400);
  });

  it('maps every error kind to a 4xx or 5xx status with a title', () => {
    for (const kind of ERROR_KINDS) {
      const problem = toProblem(new AppError('X', 'm', { kind }), 'r');

      expect(problem.status, kind).toBeGreaterThanOrEqual(400);
      expect(problem.title, kind).not.toBe('Error');
    }
  });
});
