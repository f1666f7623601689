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

// Hostile-review probe: a parent whose child was cancelled by the cascade (the parent timed out
// while it waited) is recovered; its subworkflow node is rerun (recover reruns cancelled nodes).

let db: Db;
let runs: RunStore;
let children: ChildExecutionStore;
let workflows: WorkflowRepository;
let tenantId: string;
const ids = { next: () => randomUUID() };

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

describe('a recovered parent whose child the cascade cancelled', () => {
  // Not fixed: one child per (parent, node) forever, so the rerun node finds the cancelled
  // child and fails again with CANCELLATION at once; the child cannot be recovered either (409
  // on cancelled). `recover` can never get such a parent past its subworkflow node. A fix: a
  // rerun whose child ended cancelled (or failed) starts a new child (e.g. parent_node_id kept
  // unique only among live children, the old one detached), or recover reopens the child.
  it.fails('starts the child again instead of answering the cancelled one', async () => {
    const target = (
      await workflows.create(tenantId, {
        name: 'leaf',
        nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
      })
    ).id;
    const parent = await claimedParent(target);
    const start = (fence: Fence) =>
      children.start({
        ...{ parent: fence, nodeId: 'call', workflowId: target, version: undefined },
        ...{ input: null, at: new Date() },
      });
    expect(await start(parent)).toMatchObject({ kind: 'created' });
    // the parent timed out: its children are cancelled; then an operator recovers it
    await children.cancelDescendants(parent.executionId, new Date(), 'parent timed out');
    const again = await runs.claim(parent.executionId, new Date());
    if (!again.claimed) throw new TypeError('not claimed');
    // ACT: the recovered run reruns the subworkflow node
    const rerun = await start(again.execution.fence);
    // ASSERT
    expect(rerun.kind).not.toBe('terminal');
  });
});
