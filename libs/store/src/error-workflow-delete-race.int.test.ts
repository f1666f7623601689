import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinishRequest } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createRunStore, type RunStore } from './run-store.ts';
import { createWorkflowRepository, type WorkflowRepository } from './workflow-repository.ts';

// Two processes racing: DELETE /api/workflows/<error workflow> commits while a failure of a
// workflow naming it is being written. The delete locks the workflow row and finds nothing
// pending; the failure's spawn must then see it deleted (as POST /api/executions does, through
// `for share`), not start a pending execution of a deleted workflow.

let db: Db;
let store: RunStore;
let workflows: WorkflowRepository;
let tenantId: string;
const ids = { next: () => randomUUID() };
const nodes = [{ id: 'a', type: 'transform', config: { expression: '1' } }];

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 4 });
  store = createRunStore({ pool: db.pool, workerId: 'w-race' });
  tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
});
afterAll(async () => db.close());

const failure = (): FinishRequest => ({
  status: 'failed',
  output: null,
  error: { type: 'EXECUTION', message: 'boom', node_id: 'a' },
  at: new Date(),
  reason: 'EXECUTION: boom',
});

describe('error workflow deleted while a failure is written', () => {
  it('starts nothing once the delete committed: no pending execution of a deleted workflow', async () => {
    // ARRANGE: guarded names alerts; an execution of guarded is running
    const alerts = (await workflows.create(tenantId, { name: 'alerts', nodes })).id;
    const guarded = (
      await workflows.create(tenantId, {
        name: 'guarded',
        nodes,
        settings: { on_error_workflow_id: alerts },
      })
    ).id;
    const created = await createExecutionRepository({ pool: db.pool }).create({
      ...{ id: ids.next(), tenantId, workflowId: guarded, workflowVersion: 1 },
      ...{ priority: 'normal', inputData: {}, at: new Date() },
    });
    if (created.outcome !== 'created') throw new TypeError('not created');
    const claim = await store.claim(created.execution.id, new Date());
    if (!claim.claimed) throw new TypeError('not claimed');
    // ACT: the delete of alerts (as WorkflowRepository.delete does it) holds its row lock,
    // found no active execution and marked it deleted; the failure is written meanwhile.
    const deleter = await db.pool.connect();
    let finished: Promise<unknown>;
    try {
      await deleter.query('begin');
      await deleter.query(
        'select id from workflows where id = $1 and tenant_id = $2 and deleted_at is null for update',
        [alerts, tenantId],
      );
      const active = await deleter.query(
        `select count(*)::int as n from executions where workflow_id = $1 and status in ('pending', 'running')`,
        [alerts],
      );
      expect(active.rows[0]).toEqual({ n: 0 });
      await deleter.query('update workflows set deleted_at = now() where id = $1', [alerts]);
      finished = store.finish(claim.execution.fence, failure());
      await new Promise((r) => setTimeout(r, 300));
      await deleter.query('commit');
    } finally {
      deleter.release();
    }
    await finished;
    // ASSERT: alerts is deleted, and no execution of it is pending
    const runs = await db.pool.query<{ status: string }>(
      'select status from executions where workflow_id = $1',
      [alerts],
    );
    expect(runs.rows).toEqual([]);
    const source = await db.pool.query<{ status: string }>(
      'select status from executions where id = $1',
      [created.execution.id],
    );
    expect(source.rows).toEqual([{ status: 'failed' }]);
  });
});
