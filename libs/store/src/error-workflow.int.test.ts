import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinishRequest } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createRunStore, type RunStore } from './run-store.ts';
import { createWorkflowRepository, type WorkflowRepository } from './workflow-repository.ts';

let db: Db;
let store: RunStore;
let workflows: WorkflowRepository;
let tenantId: string;
const ids = { next: () => randomUUID() };
const nodes = [{ id: 'a', type: 'transform', config: { expression: '1' } }];

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
  store = createRunStore({ pool: db.pool, workerId: 'w1' });
  tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
});
afterAll(async () => db.close());

/** An error workflow and a workflow naming it. */
async function pair(): Promise<{ alerts: string; guarded: string }> {
  const alerts = (await workflows.create(tenantId, { name: 'alerts', nodes })).id;
  const guarded = (
    await workflows.create(tenantId, {
      name: 'guarded',
      nodes,
      settings: { on_error_workflow_id: alerts },
    })
  ).id;
  return { alerts, guarded };
}

async function newExecution(workflowId: string): Promise<string> {
  const created = await createExecutionRepository({ pool: db.pool }).create({
    id: ids.next(),
    tenantId,
    workflowId,
    workflowVersion: 1,
    priority: 'high',
    inputData: {},
    at: new Date(),
  });
  if (created.outcome !== 'created') throw new TypeError('not created');
  return created.execution.id;
}

async function claimed(id: string) {
  const claim = await store.claim(id, new Date());
  if (!claim.claimed) throw new TypeError('not claimed');
  return claim.execution.fence;
}

const failure = (): FinishRequest => ({
  status: 'failed',
  output: null,
  error: { type: 'EXECUTION', message: 'boom', node_id: 'a' },
  at: new Date(),
  reason: 'EXECUTION: boom',
});

async function runsOf(workflowId: string) {
  const res = await db.pool.query<{ id: string; status: string; input_data: unknown }>(
    'select id, status, input_data from executions where workflow_id = $1',
    [workflowId],
  );
  return res.rows;
}

describe('error workflow started by the final write', () => {
  it('creates one pending execution with the failure as input, returned for the queue', async () => {
    const { alerts, guarded } = await pair();
    const id = await newExecution(guarded);
    // ACT
    const outcome = await store.finish(await claimed(id), failure());
    // ASSERT
    const runs = await runsOf(alerts);
    expect(runs).toEqual([
      {
        id: outcome?.errorExecution?.executionId,
        status: 'pending',
        input_data: {
          execution_id: id,
          workflow_id: guarded,
          failed_node: 'a',
          error: { type: 'EXECUTION', message: 'boom', node_id: 'a' },
        },
      },
    ]);
    expect(outcome?.errorExecution).toMatchObject({ tenantId, priority: 'high', workerTags: [] });
  });

  it('never creates a second one when the failure is written again (replay after a crash)', async () => {
    const { alerts, guarded } = await pair();
    const id = await newExecution(guarded);
    const fence = await claimed(id);
    await store.finish(fence, failure());
    // ACT: the same write again (fenced out), then the execution taken again (as after a
    // recover or a crashed worker's re-claim) and failed a second time.
    const repeated = await store.finish(fence, failure());
    await db.pool.query(`update executions set status = 'running' where id = $1`, [id]);
    const again = await store.finish(await claimed(id), failure());
    // ASSERT
    expect(repeated).toBeUndefined();
    expect(again).toEqual({ seqs: [], nodeSeqs: [] });
    expect(await store.readState(id)).toMatchObject({ status: 'failed', attempt: 2 });
    expect(await runsOf(alerts)).toHaveLength(1);
  });

  it('is not created on success', async () => {
    const { alerts, guarded } = await pair();
    const id = await newExecution(guarded);
    const outcome = await store.finish(await claimed(id), {
      ...failure(),
      status: 'success',
      error: null,
      output: {},
    });
    expect(outcome?.errorExecution).toBeUndefined();
    expect(await runsOf(alerts)).toEqual([]);
  });

  it('is created once when the execution is dead-lettered, also when marked dead twice', async () => {
    const { alerts, guarded } = await pair();
    const id = await newExecution(guarded);
    // ACT
    const first = await store.markDead(id, 'job failed', new Date());
    const second = await store.markDead(id, 'job failed', new Date());
    // ASSERT
    expect([first, second]).toEqual([true, false]);
    const runs = await runsOf(alerts);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.input_data).toMatchObject({ execution_id: id, failed_node: null });
  });

  it('is not created when the error workflow was deleted after it was named', async () => {
    const { alerts, guarded } = await pair();
    await workflows.delete(tenantId, alerts);
    const id = await newExecution(guarded);
    const outcome = await store.finish(await claimed(id), failure());
    expect(outcome?.seqs).toBeDefined();
    expect(outcome?.errorExecution).toBeUndefined();
    expect(await runsOf(alerts)).toEqual([]);
  });
});
