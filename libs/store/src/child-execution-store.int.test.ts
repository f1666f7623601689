import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fence } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createChildExecutionStore, type ChildExecutionStore } from './child-execution-store.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createRunStore, type RunStore } from './run-store.ts';
import { createWorkflowRepository, type WorkflowRepository } from './workflow-repository.ts';

let db: Db;
let runs: RunStore;
let children: ChildExecutionStore;
let workflows: WorkflowRepository;
let tenantId: string;
const ids = { next: () => randomUUID() };
const nodes = [{ id: 'a', type: 'transform', config: { expression: '1' } }];

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 3 });
  runs = createRunStore({ pool: db.pool, workerId: 'w1' });
  children = createChildExecutionStore({ pool: db.pool });
  tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
});
afterAll(async () => db.close());

/** A running parent (claimed) of a workflow calling `target` from node `call`. */
async function claimedParent(target: string): Promise<Fence> {
  const wf = await workflows.create(tenantId, {
    name: 'parent',
    nodes: [{ id: 'call', type: 'subworkflow', config: { workflow_id: target } }],
  });
  const created = await createExecutionRepository({ pool: db.pool }).create({
    ...{ id: ids.next(), tenantId, workflowId: wf.id, workflowVersion: 1 },
    ...{ priority: 'low', inputData: {}, at: new Date() },
  });
  if (created.outcome !== 'created') throw new TypeError('not created');
  const claim = await runs.claim(created.execution.id, new Date());
  if (!claim.claimed) throw new TypeError('not claimed');
  return claim.execution.fence;
}

const startFor = (parent: Fence, workflowId: string) =>
  children.start({
    parent,
    nodeId: 'call',
    workflowId,
    version: undefined,
    input: { n: 1 },
    at: new Date(),
  });

describe('child execution store', () => {
  it('creates one child per parent node, found again by a repeated start', async () => {
    const target = (await workflows.create(tenantId, { name: 'child', nodes })).id;
    const parent = await claimedParent(target);
    // ACT
    const first = await startFor(parent, target);
    const again = await startFor(parent, target);
    // ASSERT
    expect(first).toMatchObject({ kind: 'created', child: { tenantId, priority: 'low' } });
    const childId = first.kind === 'created' ? first.child.executionId : '';
    expect(again).toEqual({ kind: 'live', childId });
    expect(await children.family(childId)).toMatchObject({
      parentExecutionId: parent.executionId,
      parentNodeId: 'call',
      depth: 1,
    });
  });

  it('refuses to start for a run that lost its claim', async () => {
    const target = (await workflows.create(tenantId, { name: 'child', nodes })).id;
    const stale = await claimedParent(target);
    await runs.claim(stale.executionId, new Date()); // another worker takes it over
    expect(await startFor(stale, target)).toEqual({ kind: 'fenced' });
    expect(await children.park(stale, new Date())).toBe('fenced');
  });

  it('parks a parent only while its children are live, and wakes it once', async () => {
    const target = (await workflows.create(tenantId, { name: 'child', nodes })).id;
    const parent = await claimedParent(target);
    const started = await startFor(parent, target);
    const childId = started.kind === 'created' ? started.child.executionId : '';
    // ACT + ASSERT: parked on a live child; the child's end wakes it once
    expect(await children.park(parent, new Date())).toBe('parked');
    await db.pool.query(`update executions set status = 'success' where id = $1`, [childId]);
    expect(await children.wakeParent(childId)).toMatchObject({ executionId: parent.executionId });
    expect(await children.wakeParent(childId)).toBeUndefined();
    // a parent whose child already ended does not park
    expect(await children.park(parent, new Date())).toBe('child_ended');
  });

  it('cancels the active descendants of an execution and lists them', async () => {
    const target = (await workflows.create(tenantId, { name: 'child', nodes })).id;
    const parent = await claimedParent(target);
    const started = await startFor(parent, target);
    const childId = started.kind === 'created' ? started.child.executionId : '';
    // ACT
    const cancelled = await children.cancelDescendants(parent.executionId, new Date(), 'stop');
    // ASSERT
    expect(cancelled).toEqual([{ id: childId, from: 'pending' }]);
    expect(await children.cancelDescendants(parent.executionId, new Date(), 'stop')).toEqual([]);
  });

  it('lists ended executions whose children are still active', async () => {
    const target = (await workflows.create(tenantId, { name: 'child', nodes })).id;
    const parent = await claimedParent(target);
    await startFor(parent, target);
    await db.pool.query(`update executions set status = 'failed' where id = $1`, [
      parent.executionId,
    ]);
    expect(await children.abandonedParents(10_000)).toContain(parent.executionId);
  });
});
