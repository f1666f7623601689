import { describe, expect, it } from 'vitest';
import { useChildExecutionFixture } from './testing/child-execution-fixture.ts';
import type { Fence } from '@linkflow/domain';

// Hostile-review probe: a parent whose child was cancelled by the cascade (the parent timed out
// while it waited) is recovered; its subworkflow node is rerun (recover reruns cancelled nodes).

const f = useChildExecutionFixture();

describe('a recovered parent whose child the cascade cancelled', () => {
  // Not fixed: one child per (parent, node) forever, so the rerun node finds the cancelled
  // child and fails again with CANCELLATION at once; the child cannot be recovered either (409
  // on cancelled). `recover` can never get such a parent past its subworkflow node. A fix: a
  // rerun whose child ended cancelled (or failed) starts a new child (e.g. parent_node_id kept
  // unique only among live children, the old one detached), or recover reopens the child.
  it.fails('starts the child again instead of answering the cancelled one', async () => {
    const target = (
      await f.workflows.create(f.tenantId, {
        name: 'leaf',
        nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
      })
    ).id;
    const parent = await f.claimedParent(target);
    const start = (fence: Fence) =>
      f.children.start({
        ...{ parent: fence, nodeId: 'call', workflowId: target, version: undefined },
        ...{ input: null, at: new Date() },
      });
    expect(await start(parent)).toMatchObject({ kind: 'created' });
    // the parent timed out: its children are cancelled; then an operator recovers it
    await f.children.cancelDescendants(parent.executionId, new Date(), 'parent timed out');
    const again = await f.runs.claim(parent.executionId, new Date());
    if (!again.claimed) throw new TypeError('not claimed');
    // ACT: the recovered run reruns the subworkflow node
    const rerun = await start(again.execution.fence);
    // ASSERT
    expect(rerun.kind).not.toBe('terminal');
  });
});
