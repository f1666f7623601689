import { NodeError } from '../node-errors.ts';

/**
 * The NodeError a promise rejects with; fails the test when the promise resolves or rejects
 * with anything else. The one copy node tests share.
 */
export async function nodeFailure(promise: Promise<unknown>): Promise<NodeError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof NodeError)) throw new TypeError(`expected a NodeError, got ${String(err)}`);
  return err;
}
