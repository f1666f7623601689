import { EXECUTION_STATUSES, type ExecutionStatus } from '@linkflow/domain';
import { storeErrors } from './store-errors.ts';

/*
 * Status guards in SQL come from the domain's named statuses (ACTIVE_STATUSES,
 * CLAIMED_STATUS, statusesAllowing(...)), interpolated once when a statement's module
 * loads: the text stays constant, so named statements are still prepared once per
 * connection, and the state machine stays the one source of truth.
 */

/**
 * A status as an SQL string literal, e.g. `'running'`.
 * @throws AppError NOT_A_STATUS when `status` is not one of the domain's statuses.
 */
export function sqlStatus(status: ExecutionStatus): string {
  if (!(EXECUTION_STATUSES as readonly string[]).includes(status))
    throw storeErrors.notAStatus(String(status));
  return `'${status}'`;
}

/**
 * Statuses as a parenthesised SQL list for `in`, e.g. `('pending', 'running')`.
 * @throws AppError NOT_A_STATUS when one is not a domain status or the list is empty.
 */
export function sqlStatusList(statuses: readonly ExecutionStatus[]): string {
  if (statuses.length === 0) throw storeErrors.notAStatus('(empty list)');
  return `(${statuses.map(sqlStatus).join(', ')})`;
}
