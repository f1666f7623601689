import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createBuiltinRegistry } from '@linkflow/nodes';
import { createExecutionQueues } from '@linkflow/queue';
import {
  createExecutionRepository,
  createTenantDirectory,
  createWorkflowRepository,
} from '@linkflow/store';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';
import { RunnableCache, startExecution, type StartDeps } from './start-execution.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

const createWorkflow = async (body: unknown) =>
  (await h.request('POST', '/api/workflows', { body })).json<{ id: string }>().id;

/** Start deps over the harness's database and queue; `onLatest` runs after each version read. */
function depsFor(onLatest: () => Promise<void>): StartDeps {
  const ids = { next: () => uuidv7() };
  const real = createWorkflowRepository({ prisma: h.db.prisma, pool: h.db.pool, ids });
  return {
    runnable: new RunnableCache(),
    workflows: {
      ...real,
      latestVersion: async (tenantId, id) => {
        const version = await real.latestVersion(tenantId, id);
        await onLatest();
        return version;
      },
    },
    executions: createExecutionRepository({ pool: h.db.pool }),
    catalog: createBuiltinRegistry({ httpAllow: [], dbConnections: {}, codePoolSize: 0 }),
    tenants: createTenantDirectory({ pool: h.db.pool }),
    queue: createExecutionQueues({ base: h.queue, connection: h.redis }),
    ids,
    clock: { now: () => new Date() },
  };
}

describe('startExecution against a workflow that changes meanwhile', () => {
  it('starts the latest version when a stale remembered version is not runnable here', async () => {
    // ARRANGE: an API without `code` answers 422 for version 1, then version 2 drops `code`
    const id = await createWorkflow({
      name: 'was-code',
      nodes: [{ id: 'c', type: 'code', config: { source: 'return 1' } }],
    });
    const limited = await createApiHarness({ nodeTypes: ['transform', 'condition'] });
    try {
      const key = await limited.keyFor(['admin'], h.tenantId);
      const start = () =>
        limited.request('POST', '/api/executions', { key, body: { workflow_id: id } });
      expect((await start()).statusCode).toBe(422);
      const put = await h.request('PUT', `/api/workflows/${id}`, { body: sampleWorkflow() });
      expect(put.statusCode).toBe(200);
      // ACT
      const res = await start();
      // ASSERT
      expect(res.statusCode).toBe(202);
      expect(res.json()).toMatchObject({ workflow_version: 2 });
    } finally {
      await limited.close();
    }
  });

  it('pins the newer version when one lands between its read and its insert', async () => {
    // ARRANGE: the first version read is followed by another process storing version 2
    const id = await createWorkflow(sampleWorkflow('racing'));
    let raced = false;
    const deps = depsFor(async () => {
      if (raced) return;
      raced = true;
      await h.request('PUT', `/api/workflows/${id}`, { body: sampleWorkflow('raced') });
    });
    // ACT
    const started = await startExecution(deps, request(id), h.app.log);
    // ASSERT
    expect(started.created).toBe(true);
    expect(started.execution.workflowVersion).toBe(2);
  });

  it('answers 409 WORKFLOW_CHANGING, writing nothing, when every read is outdated by its insert', async () => {
    const id = await createWorkflow(sampleWorkflow('churning'));
    const deps = depsFor(async () => {
      await h.request('PUT', `/api/workflows/${id}`, { body: sampleWorkflow('churned') });
    });
    await expect(startExecution(deps, request(id), h.app.log)).rejects.toMatchObject({
      code: 'WORKFLOW_CHANGING',
    });
    const rows = await h.db.pool.query('select 1 from executions where workflow_id = $1', [id]);
    expect(rows.rowCount).toBe(0);
  });
});

function request(workflowId: string) {
  return {
    tenantId: h.tenantId,
    workflowId,
    inputData: { total: 1 },
    priority: 'normal' as const,
    idempotencyKey: undefined,
    trace: undefined,
  };
}
