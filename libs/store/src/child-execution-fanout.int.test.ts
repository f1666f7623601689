import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SUBWORKFLOW_FAMILY, type Fence } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createChildExecutionStore, type ChildExecutionStore } from './child-execution-store.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createRunStore, type RunStore } from './run-store.ts';
import { createWorkflowRepository, type WorkflowRepository } from './workflow-repository.ts';

// Hostile-review probe: the breadth of a subworkflow family. Depth is capped at 5, breadth is
// not: a workflow may hold 1000 subworkflow nodes (the definition's node cap) and waiting
// nodes take no slot, so one execution starts 1000 children at once, each of which may start
// 1000 more: up to 1000^5 executions from one POST by one tenant.

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

async function claimedParent(target: string, breadth: number): Promise<Fence> {
  const nodes = Array.from({ length: breadth }, (_, i) => ({
    id: `call${i}`,
    type: 'subworkflow',
    config: { workflow_id: target },
  }));
  const wf = await workflows.create(tenantId, { name: 'fan-out', nodes });
  const created = await createExecutionRepository({ pool: db.pool }).create({
    ...{ id: ids.next(), tenantId, workflowId: wf.id, workflowVersion: 1 },
    ...{ priority: 'low', inputData: {}, at: new Date() },
  });
  if (created.outcome !== 'created') throw new TypeError('not created');
  const claim = await runs.claim(created.execution.id, new Date());
  if (!claim.claimed) throw new TypeError('not claimed');
  return claim.execution.fence;
}

describe('subworkflow fan-out', () => {
  // A family (a top-level execution and its descendants) holds at most
  // MAX_SUBWORKFLOW_FAMILY executions: the root plus 999 children, then VALIDATION.
  it('refuses children past a family limit instead of starting 1000 from one run', async () => {
    const breadth = 1000;
    const target = (
      await workflows.create(tenantId, {
        name: 'leaf',
        nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }],
      })
    ).id;
    const parent = await claimedParent(target, breadth);
    const kinds: string[] = [];
    for (let i = 0; i < breadth; i++) {
      const started = await children.start({
        ...{ parent, nodeId: `call${i}`, workflowId: target, version: undefined },
        ...{ input: null, at: new Date() },
      });
      kinds.push(started.kind);
    }
    expect(kinds.filter((k) => k === 'created').length).toBe(MAX_SUBWORKFLOW_FAMILY - 1);
    expect(kinds.slice(MAX_SUBWORKFLOW_FAMILY - 1)).toEqual(['refused']);
  }, 120_000);
});
