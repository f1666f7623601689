import { describe, expect, it } from 'vitest';
import { fakeNodeContext } from '../testing/node-context.ts';
import { createNodeRegistry } from '../node-registry.ts';
import type { NodeDefinition } from '../node-definition.ts';
import { createSubworkflowNode } from './subworkflow-node.ts';

const registry = createNodeRegistry([createSubworkflowNode()] as NodeDefinition<never>[]);
const spec = registry.get('subworkflow');

describe('subworkflow node', () => {
  it('accepts a workflow id with an optional version and input', () => {
    expect(spec?.checkConfig({ workflow_id: 'w', version: 2, input: { a: 1 } })).toEqual([]);
  });

  it.each([
    [{}, '/config/workflow_id'],
    [{ workflow_id: '' }, '/config/workflow_id'],
    [{ workflow_id: 'w', version: 0 }, '/config/version'],
    [{ workflow_id: 'w', version: 'latest' }, '/config/version'],
    [{ workflow_id: 'w', extra: 1 }, '/config/extra'],
  ])('rejects %j at %s', (config, path) => {
    expect(spec?.checkConfig(config).map((p) => p.path)).toContain(path);
  });

  it('fails with EXECUTION when run outside an engine that starts children', async () => {
    const node = createSubworkflowNode();
    await expect(
      node.execute(
        fakeNodeContext(),
        { workflow_id: 'w' },
        {
          input: {},
          nodes: {},
          execution: { id: 'e', workflow_id: 'w', attempt: 1 },
        },
      ),
    ).rejects.toMatchObject({ type: 'EXECUTION', retryable: false });
  });
});
