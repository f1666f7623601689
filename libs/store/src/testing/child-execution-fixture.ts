import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { Fence, NodeSpec } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { createApiKeyRepository } from '../api-key-repository.ts';
import { createChildExecutionStore, type ChildExecutionStore } from '../child-execution-store.ts';
import { createDb, type Db } from '../db-client.ts';
import { createExecutionRepository } from '../execution-repository.ts';
import { createRunStore, type RunStore } from '../run-store.ts';
import { createWorkflowRepository, type WorkflowRepository } from '../workflow-repository.ts';

/** The real store pieces the child-execution tests use, for one tenant of the test schema. */
export interface ChildExecutionFixture {
  readonly db: Db;
  readonly runs: RunStore;
  readonly children: ChildExecutionStore;
  readonly workflows: WorkflowRepository;
  readonly tenantId: string;
  /**
   * A running (claimed) parent execution of a new workflow whose nodes are `nodes`, by default
   * one subworkflow node `call` calling `target`.
   */
  claimedParent(target: string, nodes?: NodeSpec[]): Promise<Fence>;
}

/** Opens the store before the file's tests (a fresh tenant) and closes it after them. */
export function useChildExecutionFixture(): ChildExecutionFixture {
  const ids = { next: () => randomUUID() };
  const state: {
    -readonly [K in keyof Omit<ChildExecutionFixture, 'claimedParent'>]?: ChildExecutionFixture[K];
  } = {};
  const get = <K extends keyof typeof state>(key: K): NonNullable<(typeof state)[K]> => {
    const value = state[key];
    if (value === undefined) throw new TypeError(`the fixture's ${key} is used before beforeAll`);
    return value;
  };
  beforeAll(async () => {
    const db = createDb({ url: testDatabaseUrl(), maxConnections: 3 });
    state.db = db;
    state.runs = createRunStore({ pool: db.pool, workerId: 'w1' });
    state.children = createChildExecutionStore({ pool: db.pool });
    state.workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
    state.tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
      `t-${randomUUID()}`,
    );
  });
  afterAll(async () => state.db?.close());
  const claimedParent = async (target: string, nodes?: NodeSpec[]): Promise<Fence> => {
    const calls = nodes ?? [{ id: 'call', type: 'subworkflow', config: { workflow_id: target } }];
    const tenantId = get('tenantId');
    const wf = await get('workflows').create(tenantId, { name: 'parent', nodes: calls });
    const created = await createExecutionRepository({ pool: get('db').pool }).create({
      ...{ id: ids.next(), tenantId, workflowId: wf.id, workflowVersion: 1 },
      ...{ priority: 'low', inputData: {}, at: new Date() },
    });
    if (created.outcome !== 'created') throw new TypeError('not created');
    const claim = await get('runs').claim(created.execution.id, new Date());
    if (!claim.claimed) throw new TypeError('not claimed');
    return claim.execution.fence;
  };
  return {
    get db() {
      return get('db');
    },
    get runs() {
      return get('runs');
    },
    get children() {
      return get('children');
    },
    get workflows() {
      return get('workflows');
    },
    get tenantId() {
      return get('tenantId');
    },
    claimedParent,
  };
}
