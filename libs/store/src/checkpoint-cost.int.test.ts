import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fence, NodeRunWrite } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createRecoveryRepository } from './recovery-repository.ts';
import { createRunStore, type RunStore } from './run-store.ts';
import { createWorkflowRepository } from './workflow-repository.ts';

/*
 * The execution's cost_total is written by the checkpoint statement itself, so a running
 * execution shows what its settled nodes cost, a replayed statement does not count twice, and
 * a recovered node's rerun adds to the charge of its failed run. Both clamp at the money
 * ceiling (all numeric(20,8) holds) so such a write never fails on overflow.
 */
let db: Db;
let store: RunStore;
let tenantId: string;
let workflowId: string;
const ids = { next: () => randomUUID() };

beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
  store = createRunStore({ pool: db.pool });
  tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  workflowId = (
    await createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids }).create(tenantId, {
      name: 'w',
      nodes: [
        { id: 'a', type: 'transform', config: { expression: '1' } },
        { id: 'b', type: 'transform', config: { expression: '2' } },
      ],
      edges: [{ from: 'a', to: 'b' }],
    })
  ).id;
});
afterAll(async () => db.close());

async function claimedExecution(): Promise<{ id: string; fence: Fence }> {
  const created = await createExecutionRepository({ pool: db.pool }).create({
    ...{ id: ids.next(), tenantId, workflowId, workflowVersion: 1 },
    ...{ priority: 'normal', inputData: {}, at: new Date() },
  });
  if (created.outcome !== 'created') throw new TypeError('not created');
  return { id: created.execution.id, fence: await claim(created.execution.id) };
}

async function claim(id: string): Promise<Fence> {
  const claimed = await store.claim(id, new Date());
  if (!claimed.claimed) throw new TypeError('not claimed');
  return claimed.execution.fence;
}

const run = (nodeId: string, cost: string, status: 'success' | 'failed' = 'success') =>
  ({
    ...{ nodeId, type: 'transform', status, attempts: 1, startedAt: new Date() },
    ...{ finishedAt: new Date(), durationMs: 1, outputJson: '1', outputBytes: 1 },
    error: status === 'failed' ? { type: 'EXECUTION', message: 'boom' } : null,
    ...{ attemptLog: [], usage: null, cost },
  }) satisfies NodeRunWrite;

async function costs(id: string): Promise<{ total: string; nodes: Record<string, string> }> {
  const total = await db.pool.query<{ t: string }>(
    'select cost_total::text as t from executions where id = $1',
    [id],
  );
  const nodes = await db.pool.query<{ node_id: string; cost: string }>(
    'select node_id, cost::text as cost from node_runs where execution_id = $1',
    [id],
  );
  return {
    total: total.rows[0]?.t ?? '',
    nodes: Object.fromEntries(nodes.rows.map((r) => [r.node_id, r.cost])),
  };
}

describe('execution cost in the checkpoint statement', () => {
  it('shows the settled nodes cost on a running execution, with or without log lines', async () => {
    const { id, fence } = await claimedExecution();
    await store.checkpoint(fence, run('a', '0.00000125'));
    expect((await costs(id)).total).toBe('0.00000125');
    await store.checkpoint(fence, run('b', '0.00000200'), [
      { at: new Date(), level: 'info', nodeId: 'b', message: 'b done' },
    ]);
    expect(await costs(id)).toEqual({
      total: '0.00000325',
      nodes: { a: '0.00000125', b: '0.00000200' },
    });
  });

  it('does not count a replayed checkpoint twice', async () => {
    const { id, fence } = await claimedExecution();
    await store.checkpoint(fence, run('a', '0.00000125'));
    // ACT: the same statement again (a retry after an ambiguous commit)
    await store.checkpoint(fence, run('a', '0.00000125'));
    expect(await costs(id)).toEqual({ total: '0.00000125', nodes: { a: '0.00000125' } });
  });

  it('adds a recovered node rerun to the charge of its failed run', async () => {
    const { id, fence } = await claimedExecution();
    await store.checkpoint(fence, run('a', '0.00000100'));
    await store.checkpoint(fence, run('b', '0.00000050', 'failed'));
    await store.finish(fence, {
      ...{ status: 'failed', output: null, at: new Date(), reason: 'node b failed' },
      error: { type: 'EXECUTION', message: 'boom', node_id: 'b' },
    });
    const recovered = await createRecoveryRepository({ pool: db.pool }).recover(tenantId, id, {
      at: new Date(),
      reason: 'test',
    });
    expect(recovered.outcome).toBe('recovered');
    // ACT: the resumed run reruns b, which succeeds this time
    const again = await claim(id);
    await store.checkpoint(again, run('b', '0.00000200'));
    await store.finish(again, {
      ...{ status: 'success', output: { b: 2 }, error: null, at: new Date(), reason: 'done' },
    });
    // ASSERT: b carries both runs, and the total is the sum of the node runs
    expect(await costs(id)).toEqual({
      total: '0.00000350',
      nodes: { a: '0.00000100', b: '0.00000250' },
    });
  });

  it('clamps the total and a rerun node charge at the numeric(20,8) ceiling instead of failing', async () => {
    const max = '999999999999.99999999';
    const { id, fence } = await claimedExecution();
    await store.checkpoint(fence, run('a', max));
    await store.checkpoint(fence, run('b', max, 'failed'));
    expect(await costs(id)).toEqual({ total: max, nodes: { a: max, b: max } });
    await store.finish(fence, {
      ...{ status: 'failed', output: null, at: new Date(), reason: 'node b failed' },
      error: { type: 'EXECUTION', message: 'boom', node_id: 'b' },
    });
    expect((await costs(id)).total).toBe(max);
    const recovered = await createRecoveryRepository({ pool: db.pool }).recover(tenantId, id, {
      at: new Date(),
      reason: 'test',
    });
    expect(recovered.outcome).toBe('recovered');
    // ACT: b reruns at the ceiling again on top of its failed run's charge
    const again = await claim(id);
    await store.checkpoint(again, run('b', max));
    await store.finish(again, {
      ...{ status: 'success', output: { b: 2 }, error: null, at: new Date(), reason: 'done' },
    });
    // ASSERT: every write went through, clamped
    expect(await costs(id)).toEqual({ total: max, nodes: { a: max, b: max } });
  });

  it('clamps the cost rollups when two executions at the ceiling finish on one day', async () => {
    const max = '999999999999.99999999';
    for (let i = 0; i < 2; i += 1) {
      const { id, fence } = await claimedExecution();
      await store.checkpoint(fence, run('a', max));
      await store.finish(fence, {
        ...{ status: 'success', output: { a: 1 }, error: null, at: new Date(), reason: 'done' },
      });
      expect((await costs(id)).total).toBe(max);
    }
    const rollup = await db.pool.query<{ total: string }>(
      'select max(total)::text as total from cost_rollups where workflow_id = $1',
      [workflowId],
    );
    expect(rollup.rows[0]?.total).toBe(max);
  });
});
