import { jsonHasUnstorableText } from '@linkflow/domain';
import { NodeError } from '@linkflow/nodes';

/**
 * Deepest nesting a node output may have. Deeper values overflow the stack of recursive code
 * further on (JSON.stringify, expression evaluation, Postgres' jsonb parser); no real output
 * comes near it.
 */
export const MAX_OUTPUT_DEPTH = 512;

const tooDeep = () =>
  new NodeError('EXECUTION', `node output is nested deeper than ${MAX_OUTPUT_DEPTH} levels`, {
    retryable: false,
  });

/** True for V8's "Maximum call stack size exceeded". */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/** A stack overflow while a node ran or its output was serialised means output nested too deep. */
export function deepOutputError(err: unknown): unknown {
  return isStackOverflow(err) ? tooDeep() : err;
}

/** Nesting depth of a JSON value, iteratively, stopping once past `max`. */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (typeof item.value !== 'object' || item.value === null) continue;
    const depth = item.depth + 1;
    if (depth > max) return true;
    for (const child of Object.values(item.value)) stack.push({ value: child, depth });
  }
  return false;
}

/**
 * The JSON text of a node output as it will be stored.
 * @throws NodeError EXECUTION when it is nested deeper than {@link MAX_OUTPUT_DEPTH}, holds text
 * Postgres cannot store (NUL, lone UTF-16 surrogates), or is over `maxBytes`.
 */
export function storableOutputJson(output: unknown, maxBytes: number): string {
  let json: string;
  try {
    json = JSON.stringify(output ?? null);
  } catch (err) {
    throw deepOutputError(err);
  }
  if (jsonHasUnstorableText(json)) {
    throw new NodeError(
      'EXECUTION',
      'node output contains a NUL character (\\u0000) or a lone UTF-16 surrogate, which cannot be stored',
      { retryable: false },
    );
  }
  const size = Buffer.byteLength(json);
  if (size > maxBytes) {
    throw new NodeError(
      'EXECUTION',
      `node output is ${size} bytes, over the ${maxBytes}-byte limit`,
      {
        retryable: false,
      },
    );
  }
  if (jsonDepthExceeds(output, MAX_OUTPUT_DEPTH)) throw tooDeep();
  return json;
}
