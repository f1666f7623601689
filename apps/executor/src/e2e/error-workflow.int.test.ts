import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishControl } from '@linkflow/queue';
import { createExecutionRepository } from '@linkflow/store';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

let h: ExecutorHarness;
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
  h = await createExecutorHarness();
  await h.startExecutor();
});
afterAll(async () => {
  await h.close();
  await srv.close();
});

interface Row {
  id: string;
  status: string;
  input_data: unknown;
  idempotency_key: string | null;
}

async function executionsOf(workflowId: string): Promise<Row[]> {
  const res = await h.db.pool.query<Row>(
    'select id, status, input_data, idempotency_key from executions where workflow_id = $1 order by created_at',
    [workflowId],
  );
  return res.rows;
}

const failing = (name: string, onError: string) => ({
  name,
  nodes: [n.transform('ok', '1'), n.transform('bad', '$error("boom")')],
  edges: [{ from: 'ok', to: 'bad' }],
  settings: { on_error_workflow_id: onError },
});

/** Waits a little past the point where an error execution would already exist. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 500));
}

describe('error workflows', () => {
  it('runs the error workflow once with {execution_id, workflow_id, failed_node, error}', async () => {
    const alerts = await h.createWorkflow({
      name: 'alerts',
      nodes: [n.transform('echo', 'input')],
    });
    const wf = await h.createWorkflow(failing('guarded', alerts));
    // ACT
    const id = await h.start(wf);
    const failed = await h.waitFor(id);
    // ASSERT
    expect(failed.status).toBe('failed');
    await expect.poll(async () => (await executionsOf(alerts)).length, { timeout: 10_000 }).toBe(1);
    const [spawned] = await executionsOf(alerts);
    const done = await h.waitFor(spawned!.id);
    expect(done.status).toBe('success');
    expect(spawned!.idempotency_key).toBe(`on-error:${id}`);
    expect(spawned!.input_data).toEqual({
      execution_id: id,
      workflow_id: wf,
      failed_node: 'bad',
      error: failed.error,
    });
    expect(failed.error).toMatchObject({ type: 'EXPRESSION', node_id: 'bad' });
    expect(done.output).toEqual({ echo: spawned!.input_data });
    await settle();
    expect(await executionsOf(alerts)).toHaveLength(1);
  });

  it('is not started when the execution succeeds', async () => {
    const alerts = await h.createWorkflow({ name: 'alerts-ok', nodes: [n.transform('e', '1')] });
    const wf = await h.createWorkflow({
      name: 'fine',
      nodes: [n.transform('ok', '1')],
      settings: { on_error_workflow_id: alerts },
    });
    // ACT
    expect((await h.waitFor(await h.start(wf))).status).toBe('success');
    // ASSERT
    await settle();
    expect(await executionsOf(alerts)).toEqual([]);
  });

  it('is not started when the execution is cancelled', async () => {
    const alerts = await h.createWorkflow({ name: 'alerts-c', nodes: [n.transform('e', '1')] });
    const wf = await h.createWorkflow({
      name: 'cancelled',
      nodes: [n.http('hang', `${srv.url}/hang?k={{ execution.id }}`)],
      settings: { on_error_workflow_id: alerts },
    });
    const id = await h.start(wf);
    await expect
      .poll(() => srv.calls.some((c) => c.path.includes(`/hang?k=${id}`)), { timeout: 10_000 })
      .toBe(true);
    // ACT
    const repo = createExecutionRepository({ pool: h.db.pool });
    expect(await repo.cancel(h.tenantId, id, new Date(), 'cancelled by request')).toMatchObject({
      outcome: 'changed',
    });
    await publishControl(h.redis, { execution_id: id, action: 'cancel' });
    // ASSERT
    expect((await h.waitFor(id, ['cancelled'])).status).toBe('cancelled');
    await settle();
    expect(await executionsOf(alerts)).toEqual([]);
  });

  it('never recurses: an error workflow that fails (naming itself) starts nothing', async () => {
    // Self-referencing needs the workflow's id: version 2 names itself.
    const selfish = await h.createWorkflow({ name: 'selfish', nodes: [n.transform('e', '1')] });
    await h.db.pool.query(`update workflow_versions set definition = $2 where workflow_id = $1`, [
      selfish,
      JSON.stringify(failing('selfish', selfish)),
    ]);
    // ACT
    const id = await h.start(selfish);
    expect((await h.waitFor(id)).status).toBe('failed');
    // ASSERT: the first failure starts one error run; that run fails and starts none.
    await expect
      .poll(async () => (await executionsOf(selfish)).length, { timeout: 10_000 })
      .toBe(2);
    const spawned = (await executionsOf(selfish)).find((e) => e.id !== id)!;
    expect((await h.waitFor(spawned.id)).status).toBe('failed');
    await settle();
    const all = await executionsOf(selfish);
    expect(all.map((e) => e.status)).toEqual(['failed', 'failed']);
  });
});
