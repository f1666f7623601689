import { compileExpression, type CompiledExpression } from '@linkflow/domain';
import { LRUCache } from 'lru-cache';
import { NodeError } from '../node-errors.ts';

/** Bounds of an {@link ExpressionCache}. */
export interface ExpressionCacheOptions {
  /** Most entries. */
  readonly max?: number;
  /**
   * Most characters of source text held. A compiled expression takes about 30 bytes
   * of heap per source character, so the default (2 Mi) holds ~60 MB at worst.
   */
  readonly maxSourceChars?: number;
}

/**
 * Compiled JSONata by source text, so an expression is compiled once per distinct
 * workflow version text, not per run. Least recently used entries go first once
 * either bound is reached: a count bound alone let 5,000 expressions of 100 KB each
 * hold gigabytes.
 */
export class ExpressionCache {
  private readonly entries: LRUCache<string, CompiledExpression>;

  constructor(options: ExpressionCacheOptions = {}) {
    this.entries = new LRUCache<string, CompiledExpression>({
      max: options.max ?? 5000,
      maxSize: options.maxSourceChars ?? 2 * 1024 * 1024,
      sizeCalculation: (_value, source) => Math.max(source.length, 1),
    });
  }

  /** Characters of source text held now. */
  get size(): number {
    return this.entries.calculatedSize;
  }

  /** @throws NodeError EXPRESSION when the source does not parse. */
  get(source: string): CompiledExpression {
    const hit = this.entries.get(source);
    if (hit) return hit;
    const compiled = compileExpression(source);
    if (!compiled.ok)
      throw new NodeError('EXPRESSION', `expression does not parse: ${compiled.error}`, {
        retryable: false,
      });
    this.entries.set(source, compiled.value);
    return compiled.value;
  }
}
