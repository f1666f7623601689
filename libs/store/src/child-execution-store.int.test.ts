import { describe, expect, it } from 'vitest';
import { useChildExecutionFixture } from './testing/child-execution-fixture.ts';
import type { Fence } from '@linkflow/domain';

const f = useChildExecutionFixture();
const nodes = [{ id: 'a', type: 'transform', config: { expression: '1' } }];

const startFor = (parent: Fence, workflowId: string) =>
  f.children.start({
    parent,
    nodeId: 'call',
    workflowId,
    version: undefined,
    input: { n: 1 },
    at: new Date(),
  });

describe('child execution store', () => {
  it('creates one child per parent node, found again by a repeated start', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const parent = await f.claimedParent(target);
    // ACT
    const first = await startFor(parent, target);
    const again = await startFor(parent, target);
    // ASSERT
    expect(first).toMatchObject({
      kind: 'created',
      child: { tenantId: f.tenantId, priority: 'low' },
    });
    const childId = first.kind === 'created' ? first.child.executionId : '';
    expect(again).toEqual({ kind: 'live', childId });
    expect(await f.children.family(childId)).toMatchObject({
      parentExecutionId: parent.executionId,
      parentNodeId: 'call',
      depth: 1,
    });
  });

  it('creates one child when two starts of the same attempt race', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const parent = await f.claimedParent(target);
    // ACT
    const raced = await Promise.all([startFor(parent, target), startFor(parent, target)]);
    // ASSERT
    expect(raced.map((r) => r.kind).sort()).toEqual(['created', 'live']);
    const family = await f.children.family(parent.executionId);
    expect(family?.children).toHaveLength(1);
    expect(raced).toContainEqual({ kind: 'live', childId: family?.children[0]?.executionId });
  });

  it('refuses to start for a run that lost its claim', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const stale = await f.claimedParent(target);
    await f.runs.claim(stale.executionId, new Date()); // another worker takes it over
    expect(await startFor(stale, target)).toEqual({ kind: 'fenced' });
    expect(await f.children.park(stale, new Date())).toBe('fenced');
  });

  it('parks a parent only while its children are live, and wakes it once', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const parent = await f.claimedParent(target);
    const started = await startFor(parent, target);
    const childId = started.kind === 'created' ? started.child.executionId : '';
    // ACT + ASSERT: parked on a live child; the child's end wakes it once
    expect(await f.children.park(parent, new Date())).toBe('parked');
    await f.db.pool.query(`update executions set status = 'success' where id = $1`, [childId]);
    expect(await f.children.wakeParent(childId)).toMatchObject({ executionId: parent.executionId });
    expect(await f.children.wakeParent(childId)).toBeUndefined();
    // a parent whose child already ended does not park
    expect(await f.children.park(parent, new Date())).toBe('child_ended');
  });

  it('cancels the active descendants of an execution and lists them', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const parent = await f.claimedParent(target);
    const started = await startFor(parent, target);
    const childId = started.kind === 'created' ? started.child.executionId : '';
    // ACT
    const cancelled = await f.children.cancelDescendants(parent.executionId, new Date(), 'stop');
    // ASSERT
    expect(cancelled).toEqual([{ id: childId, from: 'pending' }]);
    expect(await f.children.cancelDescendants(parent.executionId, new Date(), 'stop')).toEqual([]);
  });

  it('lists ended executions whose children are still active', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const parent = await f.claimedParent(target);
    await startFor(parent, target);
    await f.db.pool.query(`update executions set status = 'failed' where id = $1`, [
      parent.executionId,
    ]);
    expect(await f.children.abandonedParents(10_000)).toContain(parent.executionId);
  });
});
