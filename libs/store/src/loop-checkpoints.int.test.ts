import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeRunWrite } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../test/fixtures.ts';
import { createApiKeyRepository } from './api-key-repository.ts';
import { createDb, type Db } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { createRunStore } from './run-store.ts';
import { createWorkflowRepository } from './workflow-repository.ts';

// node_runs keyed by (execution, node, iteration): a foreach body's runs, one row per item.

let db: Db;
let tenantId: string;
let workflowId: string;
const ids = { next: () => randomUUID() };

//   src (root)   each (foreach, root): body [call]   -- call has no edge in, yet is no root
beforeAll(async () => {
  db = createDb({ url: testDatabaseUrl(), maxConnections: 2 });
  tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `t-${randomUUID()}`,
  );
  workflowId = (
    await createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids }).create(tenantId, {
      name: 'loop',
      nodes: [
        { id: 'src', type: 'transform', config: { expression: '[1, 2]' } },
        { id: 'each', type: 'foreach', config: { items: 'input', body: ['call'] } },
        { id: 'call', type: 'transform', config: { expression: 'item' } },
      ],
    })
  ).id;
});
afterAll(async () => db.close());

async function newExecution(): Promise<string> {
  const created = await createExecutionRepository({ pool: db.pool }).create({
    ...{ id: ids.next(), tenantId, workflowId, workflowVersion: 1 },
    ...{ priority: 'normal', inputData: {}, at: new Date() },
  });
  if (created.outcome !== 'created') throw new TypeError('not created');
  return created.execution.id;
}

const callRun = (iteration: number): NodeRunWrite => ({
  nodeId: 'call',
  iteration,
  type: 'transform',
  status: 'success',
  attempts: 1,
  startedAt: new Date(),
  finishedAt: new Date(),
  durationMs: 1,
  outputJson: JSON.stringify(iteration),
  outputBytes: 1,
  error: null,
  attemptLog: [],
  usage: null,
  cost: '0',
});

describe('loop checkpoints', () => {
  it('marks the roots running at the claim but never a scope member', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    await store.claim(id, new Date());
    const rows = await db.pool.query<{ node_id: string; iteration: number }>(
      'select node_id, iteration from node_runs where execution_id = $1 order by node_id',
      [id],
    );
    expect(rows.rows).toEqual([
      { node_id: 'each', iteration: -1 },
      { node_id: 'src', iteration: -1 },
    ]);
  });

  it('keeps one row per iteration (batched concurrently) and gives them back at a re-claim', async () => {
    const store = createRunStore({ pool: db.pool });
    const id = await newExecution();
    const first = await store.claim(id, new Date());
    if (!first.claimed) throw new TypeError('no claim');
    const written = await Promise.all(
      [0, 1, 2].map((i) => store.checkpoint(first.execution.fence, callRun(i), [])),
    );
    expect(written.every((w) => w !== undefined)).toBe(true);
    const again = await store.claim(id, new Date());
    const calls = again.claimed
      ? again.execution.checkpoints.filter((c) => c.nodeId === 'call')
      : [];
    expect(calls.map((c) => [c.iteration, c.output]).sort()).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
  });
});
