import { describe, expect, it } from 'vitest';
import { useChildExecutionFixture } from './testing/child-execution-fixture.ts';
import { MAX_SUBWORKFLOW_FAMILY } from '@linkflow/domain';

// Hostile-review probe: the breadth of a subworkflow family. Depth is capped at 5, breadth is
// not: a workflow may hold 1000 subworkflow nodes (the definition's node cap) and waiting
// nodes take no slot, so one execution starts 1000 children at once, each of which may start
// 1000 more: up to 1000^5 executions from one POST by one tenant.

const f = useChildExecutionFixture();

describe('subworkflow fan-out', () => {
  // A family (a top-level execution and its descendants) holds at most
  // MAX_SUBWORKFLOW_FAMILY executions: the root plus 999 children, then VALIDATION.
  it('refuses children past a family limit instead of starting 1000 from one run', async () => {
    const breadth = 1000;
    const target = (
      await f.workflows.create(f.tenantId, {
        name: 'leaf',
        nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
      })
    ).id;
    const calls = Array.from({ length: breadth }, (_, i) => ({
      id: `call${i}`,
      type: 'subworkflow',
      config: { workflow_id: target },
    }));
    const parent = await f.claimedParent(target, calls);
    const kinds: string[] = [];
    for (let i = 0; i < breadth; i++) {
      const started = await f.children.start({
        ...{ parent, nodeId: `call${i}`, workflowId: target, version: undefined },
        ...{ input: null, at: new Date() },
      });
      kinds.push(started.kind);
    }
    expect(kinds.filter((k) => k === 'created').length).toBe(MAX_SUBWORKFLOW_FAMILY - 1);
    expect(kinds.slice(MAX_SUBWORKFLOW_FAMILY - 1)).toEqual(['refused']);
  }, 120_000);
});
