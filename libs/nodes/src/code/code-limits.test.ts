import type { WorkerOptions } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeInput } from '../node-definition.ts';
import { nodeFailure } from '../testing/node-failure.ts';
import { fakeNodeContext } from '../testing/node-context.ts';
import { createCodeNode, type CodeConfig, type CodeNode } from './code-node.ts';
import { SandboxPool, type SandboxJob } from './sandbox-pool.ts';
import { spawnSandboxWorker } from './sandbox-protocol.ts';

const MIB = 1024 * 1024;
const input: NodeInput = {
  input: { total: 21 },
  nodes: {},
  execution: { id: 'exe_1', workflow_id: 'wf_1', attempt: 1 },
};
const job: SandboxJob = {
  source: 'return 1',
  inputJson: 'null',
  nodesJson: '{}',
  memoryMb: 16,
  timeoutMs: 20_000,
  maxOutputBytes: 10 * MIB,
};

/** A sandbox worker whose V8 heap is far smaller than the strings the tests build in QuickJS. */
const smallHeapWorker = (options: WorkerOptions) =>
  spawnSandboxWorker({ ...options, resourceLimits: { maxOldGenerationSizeMb: 48 } });

let pool: SandboxPool | undefined;
let node: CodeNode | undefined;
afterEach(async () => {
  await Promise.all([pool?.close(), node?.close()]);
  pool = undefined;
  node = undefined;
});

function codeNode(poolSize: number): CodeNode {
  return createCodeNode({
    poolSize,
    defaultTimeoutMs: 5_000,
    defaultMemoryMb: 16,
    maxMemoryMb: 512,
    maxTimeoutMs: 60_000,
    maxOutputBytes: 10 * MIB,
  });
}

function run(
  target: CodeNode,
  config: CodeConfig,
  options: { tenantId?: string; signal?: AbortSignal } = {},
) {
  return target.execute(fakeNodeContext({ nodeId: 'script', ...options }), config, input);
}

describe('code node byte caps (measured inside the sandbox)', () => {
  it('fails a 120 MB return value with EXECUTION naming size and limit, then serves the next run', async () => {
    node = codeNode(1);
    const big = `return 'x'.repeat(${120 * MIB})`;
    const err = await nodeFailure(run(node, { source: big, memory_mb: 300, timeout_ms: 30_000 }));
    expect(err.type).toBe('EXECUTION');
    expect(err.message).toBe(
      `code node output is at least ${120 * MIB + 2} bytes of JSON, over the ${10 * MIB}-byte limit`,
    );
    await expect(run(node, { source: 'return input.total' })).resolves.toMatchObject({
      output: 21,
    });
  }, 60_000);

  it('fails an object holding 2 × 8 MB strings after serialising it in the sandbox', async () => {
    node = codeNode(1);
    const source = `const s = 'é'.repeat(${4 * MIB}); return { a: s, b: s }`;
    const err = await nodeFailure(run(node, { source, memory_mb: 128 }));
    expect(err.type).toBe('EXECUTION');
    expect(err.message).toMatch(/^code node output is \d+ bytes of JSON, over the 10485760-byte/);
  }, 30_000);

  it('copies no huge string out of the sandbox for results, logs or errors (a 48 MB worker heap survives)', async () => {
    pool = new SandboxPool({
      size: 1,
      defaultMemoryMb: 16,
      maxMemoryMb: 512,
      maxOutputBytes: 10 * MIB,
      spawn: smallHeapWorker,
    });
    const signal = new AbortController().signal;
    const big = `'y'.repeat(${64 * MIB})`;
    const logged = await pool.run(
      {
        ...job,
        source: `const s = ${big}; console.log(s, { s }); throw new Error(s)`,
        memoryMb: 400,
      },
      signal,
    );
    expect(logged).toMatchObject({ ok: false, error: { type: 'EXECUTION' } });
    expect(logged.ok ? '' : logged.error.message).toMatch(/^Error: y{100}/);
    expect(logged.ok ? 0 : logged.error.message.length).toBeLessThanOrEqual(2_001);
    expect(logged.logs).toHaveLength(1);
    expect(logged.logs[0]?.line.length).toBeLessThanOrEqual(2_001);
    const returned = await pool.run({ ...job, source: `return ${big}`, memoryMb: 400 }, signal);
    expect(returned).toMatchObject({ ok: false, error: { type: 'EXECUTION' } });
    const thrown = await pool.run({ ...job, source: `throw ${big}`, memoryMb: 400 }, signal);
    expect(thrown.ok ? 0 : thrown.error.message.length).toBeLessThanOrEqual(2_001);
    await expect(pool.run(job, signal)).resolves.toMatchObject({ ok: true, json: '1' });
    expect(pool.stats()).toMatchObject({ alive: 1 });
  }, 60_000);
});

describe('code pool fairness', () => {
  it("runs tenant B's trivial node while tenant A's endless loops wait their turn", async () => {
    node = codeNode(2); // at most 1 sandbox per tenant (half the pool)
    const stopA = new AbortController();
    let settledA = 0;
    const loopsA = Array.from({ length: 4 }, () =>
      run(
        node as CodeNode,
        { source: 'while (true) {}', timeout_ms: 20_000 },
        { tenantId: 'A', signal: stopA.signal },
      ).finally(() => settledA++),
    );
    const errorsA = loopsA.map(nodeFailure);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const resultB = await run(node, { source: 'return input.total * 2' }, { tenantId: 'B' });
    expect(resultB.output).toBe(42);
    expect(settledA).toBe(0); // B did not wait for any of A's 20 s deadlines
    stopA.abort();
    for (const err of await Promise.all(errorsA)) expect(err.type).toBe('CANCELLATION');
  }, 30_000);

  it('counts the deadline from the request: a run that waits past it fails with TIMEOUT without running', async () => {
    node = codeNode(1);
    const stop = new AbortController();
    let busySettled = false;
    const busy = nodeFailure(
      run(node, { source: 'while (true) {}', timeout_ms: 10_000 }, { signal: stop.signal }),
    ).finally(() => (busySettled = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const err = await nodeFailure(run(node, { source: 'return 1', timeout_ms: 300 }));
    expect(err.type).toBe('TIMEOUT');
    expect(err.message).toBe(
      'code node exceeded 300 ms while waiting for a sandbox (it did not run)',
    );
    expect(busySettled).toBe(false); // it failed in the queue, not after the busy run
    stop.abort();
    expect((await busy).type).toBe('CANCELLATION');
  }, 30_000);

  it("refuses a tenant's run past its queue limit (retryable), while other tenants still queue", async () => {
    pool = new SandboxPool({
      size: 1,
      defaultMemoryMb: 16,
      maxMemoryMb: 64,
      maxQueuedPerTenant: 2,
    });
    const stop = new AbortController();
    const ask = (tenantId: string, source: string) =>
      pool?.run({ tenantId, timeoutMs: 20_000, prepare: () => ({ ...job, source }) }, stop.signal);
    const running = nodeFailure(ask('A', 'while (true) {}') as Promise<unknown>);
    await expect.poll(() => pool?.stats().busy, { timeout: 10_000 }).toBe(1);
    const waiting = [ask('A', 'return 1'), ask('A', 'return 2')];
    const pending = [running, ...waiting.map((p) => nodeFailure(p as Promise<unknown>))];
    const refused = await nodeFailure(ask('A', 'return 3') as Promise<unknown>);
    expect(refused.type).toBe('EXECUTION');
    expect(refused.retryable).toBe(true);
    expect(refused.message).toMatch(/queue is full for this tenant/);
    const other = nodeFailure(ask('B', 'return 4') as Promise<unknown>);
    expect(pool.stats().queued).toBe(3); // B queued: two of A's and B's
    stop.abort();
    for (const err of await Promise.all([...pending, other])) expect(err.type).toBe('CANCELLATION');
  }, 30_000);
});
