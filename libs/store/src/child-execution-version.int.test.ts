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

// Hostile-review probe: a pinned `version` past int4 (the schema only says integer >= 1).

let db: Db;
let runs: RunStore;
let children: ChildExecutionStore;
let workflows: WorkflowRepository;
let tenantId: string;
const ids = { next: () => randomUUID() };
const HUGE = 3_000_000_000;

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

describe('a pinned subworkflow version past int4', () => {
  it('refuses the child with VALIDATION instead of throwing (which retries the job into the DLQ)', async () => {
    const target = (
      await workflows.create(tenantId, {
        name: 'leaf',
        nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
      })
    ).id;
    const parent = await claimedParent(target);
    const started = await children.start({
      ...{ parent, nodeId: 'call', workflowId: target, version: HUGE },
      ...{ input: null, at: new Date() },
    });
    expect(started).toMatchObject({ kind: 'refused', error: { type: 'VALIDATION' } });
  });

  it('finds no such version when a create-time check looks it up', async () => {
    const target = (
      await workflows.create(tenantId, {
        name: 'leaf',
        nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
      })
    ).id;
    expect(await workflows.get(tenantId, target, HUGE)).toBeUndefined();
  });
});
