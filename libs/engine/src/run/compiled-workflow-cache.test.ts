import { describe, expect, it } from 'vitest';
import type { ClaimedExecution, WorkflowDefinition } from '@linkflow/domain';
import { createNodeRegistry, createTransformNode, type NodeDefinition } from '@linkflow/nodes';
import { CompiledWorkflowCache } from './execution-processor.ts';

const registry = createNodeRegistry([createTransformNode()] as NodeDefinition<never>[]);

/** A claim carrying a workflow whose one transform is about `chars` characters long. */
function claimOf(id: string, chars: number): ClaimedExecution {
  const definition: WorkflowDefinition = {
    name: id,
    nodes: [{ id: 'a', type: 'transform', config: { expression: `"${'x'.repeat(chars)}"` } }],
  };
  return { workflowId: id, workflowVersion: 1, definition } as ClaimedExecution;
}

describe('CompiledWorkflowCache', () => {
  it('compiles a workflow version once', () => {
    const cache = new CompiledWorkflowCache();
    const first = cache.get(claimOf('w', 10), registry);
    expect(cache.get(claimOf('w', 10), registry)).toBe(first);
  });

  it('holds no more definition text than its bound, however many 100 KB workflows come', () => {
    const cache = new CompiledWorkflowCache({ maxDefinitionChars: 512 * 1024 });
    for (let i = 0; i < 12; i++) {
      expect('dag' in cache.get(claimOf(`w${i}`, 100_000), registry)).toBe(true);
      expect(cache.size).toBeLessThanOrEqual(512 * 1024);
    }
    expect(cache.size).toBeGreaterThan(400 * 1024);
  });
});
