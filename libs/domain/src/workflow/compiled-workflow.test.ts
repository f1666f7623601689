import { describe, expect, it } from 'vitest';
import { fakeCatalog } from '../testing/fake-catalog.ts';
import { compileWorkflow } from './compiled-workflow.ts';
import type { NodeTypeCatalog } from './node-type-catalog.ts';

describe('compileWorkflow', () => {
  it('builds graph, settings defaults and compiled configs', () => {
    const result = compileWorkflow(
      { name: 'w', nodes: [{ id: 'a', type: 'http', config: { url: 'http://x/{{ input.id }}' } }] },
      fakeCatalog(),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.settings).toEqual({
      timeout_ms: undefined,
      max_concurrency: 10,
      fail_fast: true,
    });
    expect(result.value.nodes.get('a')?.config.hasTemplates).toBe(true);
  });

  it('reports a node type that is no longer enabled', () => {
    const none: NodeTypeCatalog = { get: () => undefined, types: () => [] };
    const result = compileWorkflow(
      { name: 'w', nodes: [{ id: 'a', type: 'http', config: {} }] },
      none,
    );
    expect(result.ok ? [] : result.error.map((p) => p.path)).toEqual(['/nodes/0/type']);
  });

  it('reports a cycle and a bad template', () => {
    const cyc = compileWorkflow(
      {
        name: 'w',
        nodes: [{ id: 'a', type: 'http', config: {} }],
        edges: [{ from: 'a', to: 'a' }],
      },
      fakeCatalog(),
    );
    expect(cyc.ok).toBe(false);
    const bad = compileWorkflow(
      { name: 'w', nodes: [{ id: 'a', type: 'http', config: { url: '{{ ( }}' } }] },
      fakeCatalog(),
    );
    expect(bad.ok).toBe(false);
  });
});
