import { describe, expect, it } from 'vitest';
import type { ChildStart, Fence, RunError } from '@linkflow/domain';
import { createRecoveryRepository } from './recovery-repository.ts';
import { useChildExecutionFixture } from './testing/child-execution-fixture.ts';

// A recovered parent reruns its subworkflow node (recover reruns failed and cancelled nodes):
// a child that failed or was cancelled (the cascade of a parent timeout) is started again
// under the parent's new attempt, a child that succeeded is reused, a live one is waited on.

const f = useChildExecutionFixture();

async function leaf(): Promise<string> {
  const nodes = [{ id: 'a', type: 'transform', config: { expression: '1' } }];
  return (await f.workflows.create(f.tenantId, { name: 'leaf', nodes })).id;
}

const start = (fence: Fence, target: string) =>
  f.children.start({
    ...{ parent: fence, nodeId: 'call', workflowId: target, version: undefined },
    ...{ input: null, at: new Date() },
  });

function createdId(started: ChildStart): string {
  if (started.kind !== 'created') throw new TypeError(`expected a new child, got ${started.kind}`);
  return started.child.executionId;
}

async function claim(executionId: string): Promise<Fence> {
  const claimed = await f.runs.claim(executionId, new Date());
  if (!claimed.claimed) throw new TypeError(`${executionId} not claimed`);
  return claimed.execution.fence;
}

/** Runs the child to its end as an executor would (claim, final write). */
async function endChild(childId: string, status: 'success' | 'failed'): Promise<void> {
  const fence = await claim(childId);
  const error: RunError | null =
    status === 'failed' ? { type: 'EXECUTION', message: 'boom' } : null;
  const output = status === 'success' ? { a: 1 } : null;
  const at = new Date();
  await f.runs.finish(fence, { status, output, error, at, reason: 'test' });
}

/** The parent's run fails (its waiting node ends `cancelled`), then an operator recovers it. */
async function failAndRecover(parent: Fence): Promise<Fence> {
  const error: RunError = { type: 'TIMEOUT', message: 'execution timed out' };
  const at = new Date();
  await f.runs.finish(parent, { status: 'failed', output: null, error, at, reason: 'timed out' });
  const recovery = createRecoveryRepository({ pool: f.db.pool });
  const recovered = await recovery.recover(f.tenantId, parent.executionId, {
    ...{ at: new Date(), reason: 'recovered by request' },
  });
  expect(recovered.outcome).toBe('recovered');
  return claim(parent.executionId);
}

async function childIds(parentId: string): Promise<string[]> {
  return ((await f.children.family(parentId))?.children ?? []).map((c) => c.executionId);
}

describe('a recovered parent rerunning its subworkflow node', () => {
  it('starts the child again instead of answering the one the cascade cancelled', async () => {
    const target = await leaf();
    const parent = await f.claimedParent(target);
    const first = createdId(await start(parent, target));
    // the parent timed out: its children are cancelled; then an operator recovers it
    await f.children.cancelDescendants(parent.executionId, new Date(), 'parent timed out');
    const recovered = await failAndRecover(parent);
    // ACT
    const rerun = await start(recovered, target);
    // ASSERT: a new child, listed after the cancelled one; the parent parks on it
    const second = createdId(rerun);
    expect(second).not.toBe(first);
    expect(await childIds(parent.executionId)).toEqual([first, second]);
    expect(await f.children.family(second)).toMatchObject({
      ...{ parentExecutionId: parent.executionId, parentNodeId: 'call', depth: 1 },
    });
    expect(await f.children.park(recovered, new Date())).toBe('parked');
  });

  it('settles with a failed child on a resume, and starts a new one once recovered', async () => {
    const target = await leaf();
    const parent = await f.claimedParent(target);
    const first = createdId(await start(parent, target));
    await endChild(first, 'failed');
    // the wake-up (or a takeover after a crash) is a new claim: it still settles with the child
    const resumed = await claim(parent.executionId);
    expect(await start(resumed, target)).toMatchObject({
      kind: 'terminal',
      child: { id: first, status: 'failed' },
    });
    const recovered = await failAndRecover(resumed);
    // ACT
    const second = createdId(await start(recovered, target));
    await endChild(second, 'success');
    const settled = await start(await claim(parent.executionId), target);
    // ASSERT
    expect(settled).toMatchObject({ kind: 'terminal', child: { id: second, status: 'success' } });
    expect(await childIds(parent.executionId)).toEqual([first, second]);
  });

  it('reuses a child that succeeded instead of running it again', async () => {
    const target = await leaf();
    const parent = await f.claimedParent(target);
    const child = createdId(await start(parent, target));
    await endChild(child, 'success');
    // the parent timed out before it settled the node
    const recovered = await failAndRecover(parent);
    // ACT
    const rerun = await start(recovered, target);
    // ASSERT
    expect(rerun).toMatchObject({
      kind: 'terminal',
      child: { id: child, status: 'success', output: { a: 1 } },
    });
    expect(await childIds(parent.executionId)).toEqual([child]);
  });

  it('waits on a child still live, and settles with it once it fails', async () => {
    const target = await leaf();
    const parent = await f.claimedParent(target);
    const child = createdId(await start(parent, target));
    // the parent failed and the process died before its cascade cancelled the child
    const recovered = await failAndRecover(parent);
    // ACT
    const rerun = await start(recovered, target);
    await endChild(child, 'failed');
    const resumed = await start(await claim(parent.executionId), target);
    // ASSERT: adopted, so the child's failure is the node's (no new child on a resume)
    expect(rerun).toEqual({ kind: 'live', childId: child });
    expect(resumed).toMatchObject({ kind: 'terminal', child: { id: child, status: 'failed' } });
    expect(await childIds(parent.executionId)).toEqual([child]);
  });

  it('creates one child when two starts of the same recovered attempt race', async () => {
    const target = await leaf();
    const parent = await f.claimedParent(target);
    const first = createdId(await start(parent, target));
    await endChild(first, 'failed');
    const recovered = await failAndRecover(parent);
    // ACT
    const raced = await Promise.all([start(recovered, target), start(recovered, target)]);
    // ASSERT
    expect(raced.map((r) => r.kind).sort()).toEqual(['created', 'live']);
    const second = createdId(raced.find((r) => r.kind === 'created') ?? raced[0]);
    expect(raced.find((r) => r.kind === 'live')).toEqual({ kind: 'live', childId: second });
    expect(await childIds(parent.executionId)).toEqual([first, second]);
  });
});
