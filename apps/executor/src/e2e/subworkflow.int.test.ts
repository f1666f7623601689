import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '@linkflow/domain';
import {
  createChildExecutionStore,
  createRecoveryRepository,
  createWorkflowRepository,
} from '@linkflow/store';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

// One executor taking ONE execution at a time: a parent that held its slot while its child
// waited in the queue behind it would never finish. Every test here proves the parent lets go.
let h: ExecutorHarness;
beforeAll(async () => {
  h = await createExecutorHarness({ EXECUTOR_CONCURRENCY: '1' });
  await h.startExecutor();
});
afterAll(async () => {
  await h.close();
});

const sub = (id: string, workflowId: string, input: unknown = {}) => ({
  id,
  type: 'subworkflow',
  config: { workflow_id: workflowId, input },
});

interface ChildRow {
  id: string;
  status: string;
  parent_node_id: string;
  depth: number;
  workflow_id: string;
}

async function childrenOf(parentId: string): Promise<ChildRow[]> {
  const res = await h.db.pool.query<ChildRow>(
    `select id, status, parent_node_id, depth, workflow_id from executions
     where parent_execution_id = $1 order by created_at`,
    [parentId],
  );
  return res.rows;
}

describe('subworkflow node', () => {
  it('outputs the child execution output and the DAG goes on with it', async () => {
    //   call(subworkflow: double) ──▶ after(transform)
    const double = await h.createWorkflow({
      name: 'double',
      nodes: [n.transform('twice', "{ 'doubled': input.n * 2 }")],
    });
    const parent = await h.createWorkflow({
      name: 'parent',
      nodes: [
        sub('call', double, { n: '{{ input.n }}' }),
        n.transform('after', 'nodes.call.twice.doubled + 1'),
      ],
      edges: [{ from: 'call', to: 'after' }],
    });
    // ACT
    const id = await h.start(parent, { n: 21 });
    const done = await h.waitFor(id, undefined, 20_000);
    // ASSERT
    expect(done.status).toBe('success');
    expect(done.output).toEqual({ after: 43 });
    expect(done.nodeRuns.find((r) => r.nodeId === 'call')).toMatchObject({
      status: 'success',
      // an execution's output is its sinks' outputs by node id
      output: { twice: { doubled: 42 } },
    });
    const [child] = await childrenOf(id);
    expect(child).toMatchObject({ status: 'success', parent_node_id: 'call', depth: 1 });
    expect((await h.get(child?.id ?? '')).inputData).toEqual({ n: 21 });
  });

  it('fails when the child fails, naming the child execution', async () => {
    const broken = await h.createWorkflow({
      name: 'broken',
      nodes: [n.transform('bad', '$error("boom")')],
    });
    const parent = await h.createWorkflow({
      name: 'parent-of-broken',
      nodes: [sub('call', broken)],
    });
    // ACT
    const id = await h.start(parent);
    const done = await h.waitFor(id, undefined, 20_000);
    // ASSERT
    const [child] = await childrenOf(id);
    expect(child?.status).toBe('failed');
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ type: 'EXPRESSION', node_id: 'call' });
    expect(done.error?.message).toContain(`child execution ${child?.id ?? '?'} failed`);
  });

  it('runs a chain five deep and fails the sixth level with VALIDATION', async () => {
    // w0 -> w1 -> ... -> w6: stored directly (the API would refuse the chain at create);
    // w6 would run at depth 6.
    const ids: string[] = [await h.createWorkflow({ name: 'w6', nodes: [n.transform('x', '1')] })];
    for (let level = 5; level >= 0; level--) {
      const def: WorkflowDefinition = { name: `w${level}`, nodes: [sub('down', ids[0] ?? '')] };
      ids.unshift(await h.createWorkflow(def));
    }
    // ACT
    const id = await h.start(ids[0] ?? '');
    const done = await h.waitFor(id, undefined, 30_000);
    // ASSERT
    expect(done.status).toBe('failed');
    expect(done.error?.type).toBe('VALIDATION');
    const depths = await h.db.pool.query<{ depth: number; status: string }>(
      `with recursive d as (select id, depth, status from executions where id = $1
         union all select e.id, e.depth, e.status from executions e join d on e.parent_execution_id = d.id)
       select depth, status from d order by depth`,
      [id],
    );
    expect(depths.rows.map((r) => r.depth)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(depths.rows.every((r) => r.status === 'failed')).toBe(true);
  });

  it('refuses a workflow that calls itself through a templated id (VALIDATION at run)', async () => {
    const selfish = await h.createWorkflow({
      name: 'selfish',
      nodes: [sub('again', '{{ input.wf }}')],
    });
    // ACT
    const id = await h.start(selfish, { wf: selfish });
    const done = await h.waitFor(id, undefined, 20_000);
    // ASSERT
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ type: 'VALIDATION', node_id: 'again' });
    expect(done.error?.message).toContain('calls itself');
    expect(await childrenOf(id)).toEqual([]);
  });

  it('fails the node with VALIDATION for a templated id the tenant does not have', async () => {
    const dynamic = await h.createWorkflow({
      name: 'dynamic',
      nodes: [sub('call', '{{ input.wf }}')],
    });
    const id = await h.start(dynamic, { wf: 'no-such-workflow' });
    const done = await h.waitFor(id, undefined, 20_000);
    expect(done.error).toMatchObject({
      type: 'VALIDATION',
      message: 'no workflow no-such-workflow in this tenant',
    });
  });

  it('runs two children side by side on one slot and gets both outputs', async () => {
    //   left(subworkflow) ──▶ join(transform) ◀── right(subworkflow)
    const echo = await h.createWorkflow({ name: 'echo', nodes: [n.transform('e', 'input.v')] });
    const parent = await h.createWorkflow({
      name: 'fan',
      nodes: [
        sub('left', echo, { v: 'L' }),
        sub('right', echo, { v: 'R' }),
        n.transform('join', 'nodes.left.e & nodes.right.e'),
      ],
      edges: [
        { from: 'left', to: 'join' },
        { from: 'right', to: 'join' },
      ],
    });
    const id = await h.start(parent);
    const done = await h.waitFor(id, undefined, 20_000);
    expect(done.output).toEqual({ join: 'LR' });
    expect((await childrenOf(id)).map((c) => c.parent_node_id).sort()).toEqual(['left', 'right']);
  });

  it('runs a new child when a recovered parent reruns a node whose child failed', async () => {
    //   call(subworkflow: flaky) ──▶ after(transform)
    const flaky = await h.createWorkflow({
      name: 'flaky',
      nodes: [n.transform('bad', '$error("boom")')],
    });
    const parent = await h.createWorkflow({
      name: 'parent-of-flaky',
      nodes: [sub('call', flaky), n.transform('after', "nodes.call.good & '!'")],
      edges: [{ from: 'call', to: 'after' }],
    });
    const id = await h.start(parent);
    expect((await h.waitFor(id, undefined, 20_000)).status).toBe('failed');
    // the operator fixes the child workflow (the node calls its latest version), then recovers
    const ids = { next: () => randomUUID() };
    await createWorkflowRepository({ prisma: h.db.prisma, pool: h.db.pool, ids }).addVersion(
      ...[h.tenantId, flaky, { name: 'flaky', nodes: [n.transform('good', "'fixed'")] }],
    );
    const recovery = createRecoveryRepository({ pool: h.db.pool });
    const change = { at: new Date(), reason: 'recovered by request' };
    expect(await recovery.recover(h.tenantId, id, change)).toMatchObject({ outcome: 'recovered' });
    // ACT
    await h.queue.requeue({ executionId: id, tenantId: h.tenantId, priority: 'normal' });
    const done = await h.waitFor(id, undefined, 20_000);
    // ASSERT: a second child ran; the view lists both, the current one last
    expect(done.status).toBe('success');
    expect(done.output).toEqual({ after: 'fixed!' });
    const children = await childrenOf(id);
    expect(children.map((c) => c.status)).toEqual(['failed', 'success']);
    const family = await createChildExecutionStore({ pool: h.db.pool }).family(id);
    expect(family?.children.map((c) => c.executionId)).toEqual(children.map((c) => c.id));
  });
});
