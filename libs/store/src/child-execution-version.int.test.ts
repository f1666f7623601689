import { describe, expect, it } from 'vitest';
import { useChildExecutionFixture } from './testing/child-execution-fixture.ts';

// Hostile-review probe: a pinned `version` past int4 (the schema only says integer >= 1).

const f = useChildExecutionFixture();
const HUGE = 3_000_000_000;

describe('a pinned subworkflow version past int4', () => {
  it('refuses the child with VALIDATION instead of throwing (which retries the job into the DLQ)', async () => {
    const target = (
      await f.workflows.create(f.tenantId, {
        name: 'leaf',
        nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
      })
    ).id;
    const parent = await f.claimedParent(target);
    const started = await f.children.start({
      ...{ parent, nodeId: 'call', workflowId: target, version: HUGE },
      ...{ input: null, at: new Date() },
    });
    expect(started).toMatchObject({ kind: 'refused', error: { type: 'VALIDATION' } });
  });

  it('finds no such version when a create-time check looks it up', async () => {
    const target = (
      await f.workflows.create(f.tenantId, {
        name: 'leaf',
        nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
      })
    ).id;
    expect(await f.workflows.get(f.tenantId, target, HUGE)).toBeUndefined();
  });
});
