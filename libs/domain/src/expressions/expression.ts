import jsonata from 'jsonata';
import { err, ok, type Result } from '../result.ts';

/** A JSONata expression compiled once (per workflow version) and evaluated many times. */
export interface CompiledExpression {
  readonly source: string;
  evaluate(context: unknown): Promise<Result<unknown, string>>;
}

/** JSONata throws plain objects `{code, message, position}`; this reads their message. */
function messageOf(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'message' in e && typeof e.message === 'string') {
    const code = 'code' in e && typeof e.code === 'string' ? `${e.code}: ` : '';
    return `${code}${e.message}`;
  }
  return String(e);
}

/** Compiles a JSONata expression; a parse error comes back as the error message. */
export function compileExpression(source: string): Result<CompiledExpression, string> {
  let compiled: jsonata.Expression;
  try {
    compiled = jsonata(source);
  } catch (e) {
    return err(messageOf(e));
  }
  return ok({
    source,
    async evaluate(context: unknown): Promise<Result<unknown, string>> {
      try {
        return ok(await compiled.evaluate(context));
      } catch (e) {
        return err(messageOf(e));
      }
    },
  });
}
