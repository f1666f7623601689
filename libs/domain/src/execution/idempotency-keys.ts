/**
 * Idempotency keys the service gives executions it starts itself. Unique per tenant like a
 * client's key, they make those starts happen once; a client key with one of these prefixes
 * could take the slot first (and suppress, say, its error workflow), so clients may not use them.
 */
export const RESERVED_IDEMPOTENCY_PREFIXES = {
  /** `on-error:<failed execution id>`: the error workflow a failure starts. */
  onError: 'on-error:',
  /** `sub:<parent execution id>:<node id>:<parent attempt>`: a subworkflow node's child execution. */
  subworkflow: 'sub:',
} as const;

/** The reserved prefix `key` starts with, or undefined when a client may use it. */
export function reservedIdempotencyPrefix(key: string): string | undefined {
  return Object.values(RESERVED_IDEMPOTENCY_PREFIXES).find((prefix) => key.startsWith(prefix));
}
