import { Type } from '@sinclair/typebox';

/**
 * Execution priorities as clients name them (`priority` in the body, `X-Priority`), highest
 * first. The one definition: the queue maps each to a BullMQ number, the store keeps the name.
 */
export const PRIORITY_NAMES = ['high', 'normal', 'low'] as const;

/** `high`, `normal` or `low`. */
export type Priority = (typeof PRIORITY_NAMES)[number];

/** The priority every execution gets when the request names none. */
export const DEFAULT_PRIORITY: Priority = 'normal';

/** JSON Schema of a priority name (route bodies and headers). */
export const PrioritySchema = Type.Union(PRIORITY_NAMES.map((name) => Type.Literal(name)));
