import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { Fence, NodeSpec } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { createApiKeyRepository } from '../api-key-repository.ts';
import { createDb, type Db } from '../db-client.ts';
import { createExecutionRepository } from '../execution-repository.ts';
import { createRunStore } from '../run-store.ts';
import { createWorkflowRepository } from '../workflow-repository.ts';

/** One tenant and one workflow of the test schema, for tests of node runs and checkpoints. */
export interface RunFixture {
  /** The store's connections (opened before the file's tests). */
  db(): Db;
  /** A new pending execution of the workflow; its id. */
  newExecution(): Promise<string>;
  /** A new execution, claimed (running): its fence. */
  claimed(): Promise<Fence>;
}

/** Opens the store and makes the tenant and a workflow of `nodes` before the file's tests. */
export function useRunFixture(name: string, nodes: NodeSpec[]): RunFixture {
  const ids = { next: () => randomUUID() };
  let state: { db: Db; tenantId: string; workflowId: string } | undefined;
  const get = () => {
    if (state === undefined) throw new TypeError('the run fixture is used before beforeAll');
    return state;
  };
  beforeAll(async () => {
    const db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
    const tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
      `t-${randomUUID()}`,
    );
    const workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
    const workflowId = (await workflows.create(tenantId, { name, nodes })).id;
    state = { db, tenantId, workflowId };
  });
  afterAll(async () => state?.db.close());
  const newExecution = async () => {
    const { db, tenantId, workflowId } = get();
    const created = await createExecutionRepository({ pool: db.pool }).create({
      ...{ id: ids.next(), tenantId, workflowId, workflowVersion: 1 },
      ...{ priority: 'normal', inputData: {}, at: new Date() },
    });
    if (created.outcome !== 'created') throw new TypeError('not created');
    return created.execution.id;
  };
  return {
    db: () => get().db,
    newExecution,
    async claimed() {
      const id = await newExecution();
      const claim = await createRunStore({ pool: get().db.pool }).claim(id, new Date());
      if (!claim.claimed) throw new TypeError('not claimed');
      return claim.execution.fence;
    },
  };
}
