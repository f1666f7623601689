import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '@linkflow/domain';
import { publishControl } from '@linkflow/queue';
import { createExecutionRepository, type ExecutionDetail } from '@linkflow/store';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

// Runaway expressions from issue 7: each froze an executor's event loop for seconds or for ever.
const RECURSION = '($f := function($n){$f($n+1)}; $f(0))';
const BACKTRACKING = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a+)+$/)';
const HUGE_STRING = `$join($map([1..1e6], function($v){"${'x'.repeat(100)}"}))`;
const HUGE_PAD = '$pad("", 1e8, "x")';

let h: ExecutorHarness;
beforeAll(async () => {
  h = await createExecutorHarness();
  // A ceiling well above the node timeouts below, so those are what stop the expressions.
  await h.startExecutor({ LINKFLOW_EXPRESSION_TIMEOUT_MS: '20000' });
});
afterAll(async () => {
  await h.close();
});

type NodeSpec = WorkflowDefinition['nodes'][number];

const withTimeout = (node: NodeSpec, timeoutMs: number): NodeSpec => ({
  ...node,
  timeout_ms: timeoutMs,
});

async function startOne(node: NodeSpec): Promise<string> {
  return h.start(await h.createWorkflow({ name: node.id, nodes: [node] }));
}

/** A small ordinary workflow: the latency another tenant sees meanwhile. */
async function runNormal(): Promise<{ e: ExecutionDetail; ms: number }> {
  //  shape --> check
  const wf = await h.createWorkflow({
    name: 'normal',
    nodes: [
      n.transform('shape', "{ 'id': input.id, 'double': input.id * 2 }"),
      n.condition('check', 'nodes.shape.double = 84'),
    ],
    edges: [{ from: 'shape', to: 'check' }],
  });
  const t0 = Date.now();
  const e = await h.waitFor(await h.start(wf, { id: 42 }), undefined, 30_000);
  return { e, ms: Date.now() - t0 };
}

const nodeError = (e: ExecutionDetail, id: string) => e.nodeRuns.find((r) => r.nodeId === id);

describe('expressions with a deadline', () => {
  it('fails a runaway transform with TIMEOUT at its node timeout while another execution finishes', async () => {
    const runaway = await startOne(withTimeout(n.transform('runaway', RECURSION), 3000));
    await h.waitFor(runaway, ['running']);
    const latencies: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { e, ms } = await runNormal();
      expect(e.status).toBe('success');
      expect(e.output).toEqual({ check: { result: true } });
      latencies.push(ms);
    }
    const failed = await h.waitFor(runaway, undefined, 30_000);
    console.log(`normal executions beside a runaway expression: ${latencies.join(', ')} ms`);
    expect(failed.status).toBe('failed');
    expect(nodeError(failed, 'runaway')?.error).toMatchObject({ type: 'TIMEOUT' });
    expect(nodeError(failed, 'runaway')?.durationMs).toBeLessThan(3000 + 5000);
  }, 60_000);

  it('stops the backtracking regex and the huge strings', async () => {
    const ids = {
      regex: await startOne(withTimeout(n.transform('regex', BACKTRACKING), 3000)),
      join: await startOne(withTimeout(n.transform('join', HUGE_STRING), 3000)),
      pad: await startOne(withTimeout(n.transform('pad', HUGE_PAD), 3000)),
    };
    const normal = await runNormal();
    expect(normal.e.status).toBe('success');
    console.log(`normal execution beside three attacks: ${normal.ms} ms`);
    const [regex, join, pad] = await Promise.all(
      Object.values(ids).map((id) => h.waitFor(id, undefined, 30_000)),
    );
    // RE2 answers at once: no match, so the transform's value is null.
    expect([regex?.status, regex?.output]).toEqual(['success', { regex: null }]);
    expect(nodeError(join!, 'join')?.error).toMatchObject({ type: 'TIMEOUT' });
    expect(nodeError(pad!, 'pad')?.error).toMatchObject({
      type: 'EXPRESSION',
      message: expect.stringContaining('$pad to width 100000000'),
    });
  }, 60_000);

  // The guard's deadline here is the node's own (this executor's ceiling is 20 s), so the
  // guard and the node timer race at 3 s; either way the template is stopped with TIMEOUT.
  // Without yields the timer could never fire and the run would hang.
  it('stops a runaway template at its node deadline', async () => {
    const id = await startOne(
      withTimeout(n.http('template', `http://127.0.0.1:9/{{ ${RECURSION} }}`), 3000),
    );
    const template = await h.waitFor(id, undefined, 30_000);
    expect(nodeError(template, 'template')?.error).toMatchObject({
      type: 'TIMEOUT',
      message: expect.stringMatching(/\/config\/url|node exceeded its timeout of 3000 ms/),
    });
  }, 60_000);

  it('interrupts a running expression on cancel', async () => {
    const id = await startOne(withTimeout(n.transform('runaway', RECURSION), 20_000));
    await h.waitFor(id, ['running']);
    await new Promise((r) => setTimeout(r, 300));
    await createExecutionRepository({ pool: h.db.pool }).cancel(
      h.tenantId,
      id,
      new Date(),
      'cancelled by request',
    );
    const t0 = Date.now();
    await publishControl(h.redis, { execution_id: id, action: 'cancel' });
    await h.waitFor(id, ['cancelled'], 15_000);
    await expect
      .poll(async () => nodeError(await h.get(id), 'runaway')?.status, {
        timeout: 5_000,
        interval: 50,
      })
      .toBe('cancelled');
    const e = await h.get(id);
    console.log(`runaway expression cancelled after ${Date.now() - t0} ms`);
    expect(nodeError(e, 'runaway')).toMatchObject({
      status: 'cancelled',
      error: { type: 'CANCELLATION' },
    });
    // The node stopped long before its 20 s timeout.
    expect(nodeError(e, 'runaway')?.durationMs).toBeLessThan(15_000);
  }, 60_000);
});
