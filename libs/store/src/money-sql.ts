import { formatMoney, MAX_COST_UNITS } from '@linkflow/domain';

/**
 * The money ceiling as a SQL literal (999999999999.99999999, all `numeric(20,8)` holds): a
 * node's accumulated charge, an execution's total and the cost rollups' sums are clamped to
 * it, so a checkpoint, finish or rollup never fails on numeric overflow (a failing terminal
 * write would rerun the node into the dead-letter queue).
 */
export const MAX_MONEY_SQL = `${formatMoney(MAX_COST_UNITS)}::numeric`;

/**
 * SQL: a numeric money expression clamped into what `numeric(20,8)` holds (both signs: a
 * rollup taken back subtracts). At the ceiling a sum stops being exact, which only prices
 * near the rate card's 1000 USD maximum reach.
 */
export const clampMoney = (expr: string): string =>
  `least(greatest(${expr}, -${MAX_MONEY_SQL}), ${MAX_MONEY_SQL})`;
