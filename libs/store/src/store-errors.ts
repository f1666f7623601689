import { AppError } from '@linkflow/domain';

/** Errors raised by libs/store. */
export const storeErrors = {
  badCursor: () =>
    new AppError('BAD_CURSOR', 'cursor is not valid', {
      kind: 'user',
      problems: [{ path: '/cursor', message: 'not a cursor from this API' }],
    }),
  corruptRow: (table: string, detail: string) =>
    new AppError('CORRUPT_ROW', `unexpected ${table} row: ${detail}`, { kind: 'internal' }),
  notAStatus: (value: string) =>
    new AppError('NOT_A_STATUS', `not an execution status: ${value}`, { kind: 'internal' }),
};
