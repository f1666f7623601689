import { compileExpression, type CompiledExpression } from '@linkflow/domain';
import { NodeError } from '../node-errors.ts';

/**
 * Compiled JSONata by source text, so an expression is compiled once per distinct
 * workflow version text, not per run. Bounded: the oldest entry goes past `max`.
 */
export class ExpressionCache {
  private readonly entries = new Map<string, CompiledExpression>();
  constructor(private readonly max = 5000) {}

  /** @throws NodeError EXPRESSION when the source does not parse. */
  get(source: string): CompiledExpression {
    const hit = this.entries.get(source);
    if (hit) return hit;
    const compiled = compileExpression(source);
    if (!compiled.ok)
      throw new NodeError('EXPRESSION', `expression does not parse: ${compiled.error}`, {
        retryable: false,
      });
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(source, compiled.value);
    return compiled.value;
  }
}
