import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { RunReply, RunRequest } from './sandbox-protocol.ts';

// `sandbox-*.mjs` are plain JavaScript, type-checked through their JSDoc (`checkJs`), and
// loaded in-process so coverage sees them. Their types are the worker's own typedefs, so the
// calls below also check that sandbox-protocol.ts mirrors them.
import * as quickjs from './sandbox-quickjs.mjs';
import { runSandbox } from './sandbox-run.mjs';
import * as worker from './sandbox-worker.mjs';

/** The host's view of a run, checked against the worker's typedefs. */
const run = (req: RunRequest): Promise<RunReply> => runSandbox(req);

let nextId = 1;
function request(source: string, extra: Partial<RunRequest> = {}): RunRequest {
  const base = {
    kind: 'run',
    id: nextId++,
    source,
    inputJson: '{"total":21}',
    nodesJson: '{"a":{"x":1}}',
    memoryMb: 32,
    timeoutMs: 1_000,
    queuedMs: 0,
    maxOutputBytes: 1024 * 1024,
  } as const;
  return { ...base, ...extra };
}

async function outcome(source: string, extra: Partial<RunRequest> = {}) {
  const reply = await run(request(source, extra));
  return reply.ok ? { json: reply.json } : { error: reply.error };
}

describe('sandbox run and syntax check (in-process)', () => {
  it('wraps the body and caps memory above the 16 MiB module minimum', () => {
    expect(quickjs.wrapSource('return 1')).toBe('(async function (input, nodes) {return 1\n})');
    expect(quickjs.capBytesFor(1)).toBe(16 * 1024 * 1024);
    expect(quickjs.capBytesFor(64)).toBe(72 * 1024 * 1024);
  });

  it('runs sync and async bodies with input and nodes', async () => {
    expect(await outcome('return { s: input.total * 2, x: nodes.a.x }')).toEqual({
      json: '{"s":42,"x":1}',
    });
    expect(await outcome('await null; return await Promise.resolve(input.total)')).toEqual({
      json: '21',
    });
    expect(await outcome('let x')).toEqual({ json: 'null' });
  });

  it('collects bounded console lines and reports usage', async () => {
    const reply = await run(
      request('for (let i = 0; i < 150; i++) console.error("line", i, [i]); return 1'),
    );
    expect(reply.logs).toHaveLength(100);
    expect(reply.logs[0]).toEqual({ level: 'error', line: 'line 0 [0]' });
    expect(reply.usage.cpu_ms).toBeGreaterThan(0);
    expect(reply.usage.peak_memory_bytes).toBeGreaterThan(0);
  });

  it('classifies user errors, deadlines, memory and non-JSON values', async () => {
    expect(await outcome('throw new TypeError("bad")')).toEqual({
      error: { type: 'EXECUTION', message: 'TypeError: bad (line 1)' },
    });
    expect(await outcome('throw { code: 7 }')).toEqual({
      error: { type: 'EXECUTION', message: '{"code":7}' },
    });
    expect(await outcome('while (true) {}', { timeoutMs: 30 })).toEqual({
      error: { type: 'TIMEOUT', message: 'code node exceeded 30 ms' },
    });
    expect(await outcome('for (;;) { await null }', { timeoutMs: 30 })).toMatchObject({
      error: { type: 'TIMEOUT' },
    });
    expect(await outcome('await new Promise(() => {})')).toMatchObject({
      error: { type: 'TIMEOUT', message: expect.stringContaining('never settles') as unknown },
    });
    expect(await outcome("return 'x'.repeat(2 ** 29)")).toMatchObject({
      error: {
        type: 'EXECUTION',
        message: expect.stringContaining('memory limit of 32 MB') as unknown,
      },
    });
    expect(await outcome('return Symbol("s")')).toMatchObject({
      error: { type: 'TRANSFORMATION' },
    });
    expect(await outcome('return { toJSON() { throw new Error("no") } }')).toMatchObject({
      error: { type: 'TRANSFORMATION' },
    });
  });

  it('enforces the cap on many small allocations and recovers with a fresh module', async () => {
    const source = 'const a = []; while (true) a.push(new Uint8Array(1 << 20))';
    expect(await outcome(source, { memoryMb: 16, timeoutMs: 5_000 })).toMatchObject({
      error: { type: 'EXECUTION', message: expect.stringContaining('memory limit') as unknown },
    });
    expect(await outcome('return 1', { memoryMb: 16 })).toEqual({ json: '1' });
  });

  it('turns a WebAssembly trap into EXECUTION and keeps working', async () => {
    expect(await outcome(`return ${'['.repeat(50_000)}`)).toMatchObject({
      error: { type: 'EXECUTION' },
    });
    expect(await outcome('return 2')).toEqual({ json: '2' });
  });

  it('rejects input that is not JSON text', async () => {
    expect(await outcome('return input', { inputJson: '{oops' })).toMatchObject({
      error: { type: 'EXECUTION', message: expect.stringContaining('SyntaxError') as unknown },
    });
  });

  it('checks syntax without running the source', async () => {
    expect(await quickjs.checkSyntax('while (true) {}')).toBeUndefined();
    expect(await quickjs.checkSyntax('return )')).toMatch(/^SyntaxError: .*\(line 1\)$/);
    expect(await quickjs.checkSyntax(`return ${'('.repeat(50_000)}`)).toMatch(/SyntaxError/);
    expect(await quickjs.checkSyntax('return 1')).toBeUndefined();
  });

  it('serves runs and checks over message ports (the worker roles)', async () => {
    const runs = new MessageChannel();
    await worker.serveRuns(runs.port2, 16);
    const ready = await nextMessage(runs.port1);
    expect(ready).toEqual({ kind: 'ready' });
    runs.port1.postMessage(request('return 5', { id: 77 }));
    expect(await nextMessage(runs.port1)).toMatchObject({
      kind: 'result',
      id: 77,
      ok: true,
      json: '5',
    });
    runs.port1.close();

    const checks = new MessageChannel();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    worker.serveChecks(checks.port2, flag);
    checks.port1.postMessage({ seq: 3, source: 'return (' });
    expect(await nextMessage(checks.port1)).toMatchObject({
      seq: 3,
      problem: expect.stringMatching(/SyntaxError/) as unknown,
    });
    expect(Atomics.load(flag, 0)).toBe(3);
    checks.port1.close();
  });
});

function nextMessage(port: MessagePort): Promise<unknown> {
  return new Promise((resolve) => port.once('message', resolve));
}
