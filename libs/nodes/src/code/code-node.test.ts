import { afterAll, describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import type { NodeContext, NodeInput } from '../node-definition.ts';
import { nodeFailure } from '../testing/node-failure.ts';
import { createCodeNode, type CodeConfig } from './index.ts';
import { fakeNodeContext, type CapturedLog } from '../testing/node-context.ts';

const node = createCodeNode({
  poolSize: 2,
  defaultTimeoutMs: 2_000,
  defaultMemoryMb: 32,
  maxMemoryMb: 256,
  maxTimeoutMs: 20_000,
});
afterAll(() => node.close());

const input: NodeInput = {
  input: { total: 21, items: [1, 2, 3] },
  nodes: { fetch: { status: 200, body: { n: 5 } } },
  execution: { id: 'exe_1', workflow_id: 'wf_1', attempt: 1 },
};

function makeCtx(signal?: AbortSignal, logs: CapturedLog[] = []): NodeContext {
  return fakeNodeContext({
    nodeId: 'script',
    timeoutMs: 30_000,
    logs,
    ...(signal ? { signal } : {}),
  });
}

function run(source: string, extra: Omit<CodeConfig, 'source'> = {}, signal?: AbortSignal) {
  return node.execute(makeCtx(signal), { source, ...extra }, input);
}

async function expectPoolServes(): Promise<void> {
  await expect(run('return input.total + 1')).resolves.toMatchObject({ output: 22 });
}

describe('code node definition', () => {
  it('is code@1 with source as a raw field', () => {
    expect(node.type).toBe('code');
    expect(node.version).toBe(1);
    expect(node.rawFields).toEqual(['source']);
  });

  it('validates the config shape and the server limits', () => {
    const check = (config: unknown) => Value.Check(node.configSchema, config);
    expect(check({ source: 'return 1' })).toBe(true);
    expect(check({ source: 'return 1', memory_mb: 256, timeout_ms: 20_000 })).toBe(true);
    expect(check({ source: '' })).toBe(false);
    expect(check({ source: 'x'.repeat(100_001) })).toBe(false);
    expect(check({ source: 'return 1', memory_mb: 257 })).toBe(false);
    expect(check({ source: 'return 1', timeout_ms: 0 })).toBe(false);
    expect(check({ source: 'return 1', timeout_ms: 1.5 })).toBe(false);
    expect(check({ source: 'return 1', env: {} })).toBe(false);
  });

  it('reports a syntax error in source at /config/source', () => {
    const problems = node.checkConfig({ source: 'const x = ;\nreturn x' });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('/config/source');
    expect(problems[0]?.message).toMatch(/SyntaxError.*line 1/);
  });

  it('accepts valid source, including await and return', () => {
    expect(
      node.checkConfig({ source: 'const v = await Promise.resolve(input.total);\nreturn { v }' }),
    ).toEqual([]);
  });

  it('compiles without executing: an endless loop or a wrapper break-out is only checked', () => {
    const started = performance.now();
    expect(node.checkConfig({ source: 'while (true) {}' })).toEqual([]);
    expect(node.checkConfig({ source: '}); while (true) {} (function () {' })).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('reports absurdly nested source as a problem instead of crashing', () => {
    const problems = node.checkConfig({ source: `return ${'['.repeat(50_000)}` });
    expect(problems[0]?.message).toMatch(/SyntaxError/);
    expect(node.checkConfig({ source: 'return 1' })).toEqual([]);
  });

  it('rejects invalid server options', () => {
    expect(() =>
      createCodeNode({
        poolSize: 0,
        defaultTimeoutMs: 1,
        defaultMemoryMb: 1,
        maxMemoryMb: 1,
        maxTimeoutMs: 1,
      }),
    ).toThrow(/poolSize/);
    expect(() =>
      createCodeNode({
        poolSize: 1,
        defaultTimeoutMs: 1,
        defaultMemoryMb: 64,
        maxMemoryMb: 32,
        maxTimeoutMs: 1,
      }),
    ).toThrow(/defaultMemoryMb/);
  });
});

describe('code node execution', () => {
  it('returns the value and reports usage', async () => {
    const result = await run('return { score: input.total * 2 }');
    expect(result.output).toEqual({ score: 42 });
    expect(result.usage.cpu_ms).toBeGreaterThan(0);
    expect(result.usage.peak_memory_bytes).toBeGreaterThan(0);
  });

  it('supports async/await', async () => {
    const source =
      'const double = async (n) => { await null; return n * 2 };\nconst v = await double(await Promise.resolve(input.total));\nreturn v + 1';
    await expect(run(source)).resolves.toMatchObject({ output: 43 });
  });

  it('reads input and nodes as deep copies', async () => {
    const result = await run(
      'const n = nodes.fetch.body.n + input.items.length; input.total = 0; nodes.fetch.status = 500; return n',
    );
    expect(result.output).toBe(8);
    expect(input.input).toEqual({ total: 21, items: [1, 2, 3] });
    expect(input.nodes).toEqual({ fetch: { status: 200, body: { n: 5 } } });
  });

  it('turns an undefined return into null', async () => {
    await expect(run('const x = 1')).resolves.toMatchObject({ output: null });
  });

  it('forwards console lines to ctx.log', async () => {
    const logs: CapturedLog[] = [];
    await node.execute(
      makeCtx(undefined, logs),
      { source: 'console.log("total", input.total, { a: 1 }); console.warn("careful"); return 1' },
      input,
    );
    expect(logs).toEqual([
      { level: 'info', message: 'total 21 {"a":1}' },
      { level: 'warn', message: 'careful' },
    ]);
  });

  it('fails with EXECUTION and the thrown message when user code throws', async () => {
    const err = await nodeFailure(run('throw new Error("boom")'));
    expect(err.type).toBe('EXECUTION');
    expect(err.message).toContain('boom');
    expect(err.retryable).toBe(false);
  });

  it('fails with TRANSFORMATION when the value is not JSON', async () => {
    for (const source of ['return 1n', 'const a = {}; a.self = a; return a', 'return () => 1']) {
      const err = await nodeFailure(run(source));
      expect(err.type).toBe('TRANSFORMATION');
    }
  });

  it('fails with TRANSFORMATION when the input is not JSON', async () => {
    const bad: NodeInput = { ...input, input: { n: 1n } };
    const err = await nodeFailure(node.execute(makeCtx(), { source: 'return 1' }, bad));
    expect(err.type).toBe('TRANSFORMATION');
  });

  it('exposes no host objects to the sandbox', async () => {
    const source =
      'return Object.getOwnPropertyNames(globalThis).filter((n) => /^(process|require|module|exports|fetch|XMLHttpRequest|WebSocket|set(Timeout|Interval|Immediate)|queueMicrotask|WebAssembly|Buffer|Deno|Bun|std|os)$/.test(n))';
    await expect(run(source)).resolves.toMatchObject({ output: [] });
    await expect(run('return typeof globalThis.fetch')).resolves.toMatchObject({
      output: 'undefined',
    });
  });
});

describe('code node sandbox escapes', () => {
  const escapes: readonly [string, string, RegExp][] = [
    ['process.env', 'return process.env', /process/],
    ['require', "return require('fs')", /require/],
    ['Function constructor', "return this.constructor.constructor('return process')()", /process/],
    ['fetch', "return globalThis.fetch('https://example.com')", /TypeError/],
    ['import()', "return await import('node:fs')", /./],
  ];

  it.each(escapes)(
    '%s fails as a node error and the pool keeps serving',
    async (_name, source, message) => {
      const err = await nodeFailure(run(source));
      expect(err.type).toBe('EXECUTION');
      expect(err.message).toMatch(message);
      await expectPoolServes();
    },
  );

  it('cannot touch host globals', async () => {
    await run('globalThis.leaked = 1; Object.prototype.polluted = true; return 1');
    expect(Reflect.get(globalThis, 'leaked')).toBeUndefined();
    expect(Reflect.get({}, 'polluted')).toBeUndefined();
    await expect(run('return typeof leaked + typeof ({}).polluted')).resolves.toMatchObject({
      output: 'undefinedundefined',
    });
  });

  it('stops while(true){} with TIMEOUT within the limit', async () => {
    const started = performance.now();
    const err = await nodeFailure(run('while (true) {}', { timeout_ms: 50 }));
    expect(err.type).toBe('TIMEOUT');
    expect(err.message).toBe('code node exceeded 50 ms');
    expect(err.retryable).toBe(false);
    expect(performance.now() - started).toBeLessThan(500);
    await expectPoolServes();
  });

  it('stops an async loop (for(;;){ await null }) with TIMEOUT', async () => {
    const started = performance.now();
    const err = await nodeFailure(run('for (;;) { await null }', { timeout_ms: 50 }));
    expect(err.type).toBe('TIMEOUT');
    expect(performance.now() - started).toBeLessThan(500);
    await expectPoolServes();
  });

  it('ends a never-settling promise with TIMEOUT', async () => {
    const err = await nodeFailure(
      run('await new Promise(() => {}); return 1', { timeout_ms: 200 }),
    );
    expect(err.type).toBe('TIMEOUT');
    await expectPoolServes();
  });

  it('stops endless allocation at the memory limit', async () => {
    const err = await nodeFailure(
      run('const a = []; while (true) a.push(new Array(1e6).fill(1))', {
        memory_mb: 16,
        timeout_ms: 10_000,
      }),
    );
    expect(err.type).toBe('EXECUTION');
    expect(err.message).toMatch(/memory limit of 16 MB/);
    await expectPoolServes();
  }, 15_000);

  it('refuses a huge single allocation (512 MB string) at the memory limit', async () => {
    const err = await nodeFailure(run("return 'x'.repeat(2 ** 29).length", { memory_mb: 64 }));
    expect(err.type).toBe('EXECUTION');
    expect(err.message).toMatch(/memory limit of 64 MB/);
    await expectPoolServes();
  });

  it('stops unbounded recursion with EXECUTION', async () => {
    const err = await nodeFailure(run('function f() { return f() } return f()'));
    expect(err.type).toBe('EXECUTION');
    expect(err.message).toMatch(/stack overflow/);
    await expectPoolServes();
  });

  it('survives a source that overflows the native stack while compiling', async () => {
    const err = await nodeFailure(run(`return ${'['.repeat(50_000)}`));
    expect(err.type).toBe('EXECUTION');
    await expectPoolServes();
    await expectPoolServes();
  });

  it('terminates a worker stuck in one long native call at deadline + grace', async () => {
    // String.prototype.repeat never checks the interrupt handler; 1e8 chars take ~1 s.
    const started = performance.now();
    const err = await nodeFailure(
      run("return 'x'.repeat(1e8).length", { timeout_ms: 100, memory_mb: 200 }),
    );
    expect(err.type).toBe('TIMEOUT');
    expect(err.message).toBe('code node exceeded 100 ms');
    expect(performance.now() - started).toBeLessThan(700);
    await expectPoolServes();
  });
});

describe('code node pool', () => {
  it('aborts a running while(true) promptly with CANCELLATION', async () => {
    const controller = new AbortController();
    const pending = run('while (true) {}', { timeout_ms: 15_000 }, controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const abortedAt = performance.now();
    controller.abort();
    const err = await nodeFailure(pending);
    expect(err.type).toBe('CANCELLATION');
    expect(performance.now() - abortedAt).toBeLessThan(200);
    await expectPoolServes();
  });

  it('rejects at once when the signal is already aborted, and maps a timeout reason to TIMEOUT', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await nodeFailure(run('return 1', {}, controller.signal))).type).toBe('CANCELLATION');
    const timedOut = new AbortController();
    timedOut.abort(new DOMException('deadline', 'TimeoutError'));
    expect((await nodeFailure(run('return 1', {}, timedOut.signal))).type).toBe('TIMEOUT');
  });

  it('queues runs when every worker is busy, and a queued run can be aborted', async () => {
    const busy = [
      run('let x = 0; for (let i = 0; i < 2e6; i++) x += i; return x'),
      run('let x = 0; for (let i = 0; i < 2e6; i++) x += i; return 1'),
    ];
    const controller = new AbortController();
    const queued = run('return 1', {}, controller.signal);
    controller.abort();
    expect((await nodeFailure(queued)).type).toBe('CANCELLATION');
    const results = await Promise.all([...busy, run('return "after"')]);
    expect(results.map((r) => r.output)).toEqual([1999999000000, 1, 'after']);
  });

  it('keeps the host event loop free while a CPU-heavy script runs', async () => {
    let ticks = 0;
    const interval = setInterval(() => ticks++, 10);
    const started = performance.now();
    try {
      await run('let x = 0; for (let i = 0; i < 5e6; i++) x += i % 7; return x', {
        timeout_ms: 10_000,
      });
    } finally {
      clearInterval(interval);
    }
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThan(100);
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 10 / 3));
  });

  it('runs 1,000 tiny scripts through the pool', async () => {
    const started = performance.now();
    const runs = Array.from({ length: 1_000 }, (_, i) =>
      node.execute(makeCtx(), { source: `return input.total + ${i}` }, input),
    );
    const results = await Promise.all(runs);
    expect(results[999]?.output).toBe(1020);
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 20_000);

  it('reports health and refuses work after close', async () => {
    const own = createCodeNode({
      poolSize: 1,
      defaultTimeoutMs: 1_000,
      defaultMemoryMb: 16,
      maxMemoryMb: 64,
      maxTimeoutMs: 5_000,
    });
    expect(await own.health()).toMatchObject({ ok: true });
    await expect(own.execute(makeCtx(), { source: 'return 2' }, input)).resolves.toMatchObject({
      output: 2,
    });
    expect(await own.health()).toMatchObject({
      ok: true,
      detail: expect.stringContaining('1/1 workers alive') as unknown,
    });
    await own.close();
    expect(await own.health()).toMatchObject({ ok: false });
    expect((await nodeFailure(own.execute(makeCtx(), { source: 'return 2' }, input))).type).toBe(
      'CANCELLATION',
    );
  });
});

describe('code node inside a foreach body', () => {
  const inLoop = (item: unknown, index: number): NodeInput => ({ ...input, item, index });

  it('reads the iteration as globals item and index', async () => {
    const result = await node.execute(
      makeCtx(),
      { source: 'return { doubled: item.n * 2, index, total: input.total }' },
      inLoop({ n: 21 }, 3),
    );
    expect(result.output).toEqual({ doubled: 42, index: 3, total: 21 });
  });

  it('lets the source declare its own item and index (they shadow the globals)', async () => {
    const source = 'const item = 1; let index = 2; return item + index';
    await expect(node.execute(makeCtx(), { source }, inLoop('x', 7))).resolves.toMatchObject({
      output: 3,
    });
    expect(node.checkConfig({ source })).toEqual([]);
  });

  it('has neither outside a loop', async () => {
    await expect(run('return [typeof item, typeof index]')).resolves.toMatchObject({
      output: ['undefined', 'undefined'],
    });
  });
});
