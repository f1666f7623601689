import {
  compileWorkflow,
  type ClaimedExecution,
  type CompiledWorkflow,
  type RunError,
} from '@linkflow/domain';
import type { NodeRegistry } from '@linkflow/nodes';
import { LRUCache } from 'lru-cache';

/**
 * Compiled workflow versions, keyed `workflowId@version` (compile once per version).
 * Least recently used versions go first past `max` entries or `maxDefinitionChars`
 * characters of definition JSON (compiled expressions take ~30 bytes of heap per
 * source character: a count bound alone let large definitions hold gigabytes).
 */
export class CompiledWorkflowCache {
  private readonly entries: LRUCache<string, CompiledWorkflow>;

  constructor(options: { max?: number; maxDefinitionChars?: number } = {}) {
    this.entries = new LRUCache<string, CompiledWorkflow>({
      max: options.max ?? 1000,
      maxSize: options.maxDefinitionChars ?? 2 * 1024 * 1024,
    });
  }

  /** Characters of definition JSON held now. */
  get size(): number {
    return this.entries.calculatedSize;
  }

  get(claim: ClaimedExecution, registry: NodeRegistry): CompiledWorkflow | RunError {
    const key = `${claim.workflowId}@${claim.workflowVersion}`;
    const hit = this.entries.get(key);
    if (hit) return hit;
    const compiled = compileWorkflow(claim.definition, registry);
    if (!compiled.ok)
      return {
        type: 'VALIDATION',
        node_id: null,
        message: compiled.error.map((p) => `${p.path}: ${p.message}`).join('; '),
      };
    const size = Math.max(JSON.stringify(claim.definition).length, 1);
    this.entries.set(key, compiled.value, { size });
    return compiled.value;
  }
}
