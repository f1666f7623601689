import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const MIB = 1024 * 1024;
/** The executor's V8 budget in production (`EXECUTOR_HEAP_MB`, `--max-old-space-size`). */
const HEAP_MB = 384;
/**
 * Peak RSS allowed while two code nodes each build a 120 MB string: the idle executor (~200 MB),
 * the two sandboxes' own WebAssembly memory (user memory, capped by `memory_mb`: ~2 × 120 MB)
 * and headroom; no copy of the strings may reach a worker's or the executor's heap (before
 * the fix the same run crashed the executor at its 384 MB heap limit, or took 1.4 GB).
 */
const PEAK_RSS_BUDGET_MB = 640;

let h: ExecutorHarness | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await h?.close();
  h = undefined;
});
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** VmHWM (peak resident set) and VmRSS of a process, in MB. */
function memoryOf(pid: number): { peakMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { peakMb: Math.round(kb('VmHWM') / 1024), rssMb: Math.round(kb('VmRSS') / 1024) };
}

describe('code node in the executor', () => {
  it(
    'fails two concurrent 120 MB return values cleanly; the executor stays within its budget and serves the next code node',
    { timeout: 120_000 },
    async () => {
      h = await createExecutorHarness({
        EXECUTOR_CODE_WORKERS: '2',
        EXECUTOR_CODE_MAX_PER_TENANT: '2',
      });
      const child = spawn(
        process.execPath,
        [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', MAIN],
        { env: { ...process.env, ...h.env, EXECUTOR_ID: 'code-rss' }, stdio: 'ignore' },
      );
      children.push(child);
      const pid = child.pid ?? 0;
      const warm = await h.start(
        await h.createWorkflow({ name: 'warm', nodes: [n.code('w', 'return 1')] }),
      );
      expect((await h.waitFor(warm, undefined, 60_000)).status).toBe('success');
      const idle = memoryOf(pid);
      // ACT: two code nodes at once, each returning a 120 MB string
      const big = { memory_mb: 512, timeout_ms: 60_000 };
      const huge = `return 'x'.repeat(${120 * MIB})`;
      const wf = await h.createWorkflow({
        name: 'huge',
        nodes: [n.code('a', huge, big), n.code('b', huge, big)],
        settings: { fail_fast: false },
      });
      const e = await h.waitFor(await h.start(wf), undefined, 90_000);
      // ASSERT: both nodes fail with the size and the limit; the executor is alive and serves
      expect(e.status).toBe('failed');
      for (const id of ['a', 'b']) {
        expect(e.nodeRuns.find((r) => r.nodeId === id)?.error).toMatchObject({
          type: 'EXECUTION',
          message: `code node output is at least ${120 * MIB + 2} bytes of JSON, over the ${10 * MIB}-byte limit`,
        });
      }
      expect(child.exitCode).toBeNull();
      const next = await h.start(
        await h.createWorkflow({ name: 'next', nodes: [n.code('n', 'return 2')] }),
      );
      expect(await h.waitFor(next, undefined, 30_000)).toMatchObject({
        status: 'success',
        output: { n: 2 },
      });
      // the big runs' workers were replaced, so their sandbox memory went back to the OS
      const after = memoryOf(pid);
      console.info(
        `executor RSS (MB): idle ${idle.rssMb}, peak ${after.peakMb}, after ${after.rssMb} (heap budget ${HEAP_MB})`,
      );
      expect(after.peakMb).toBeLessThan(PEAK_RSS_BUDGET_MB);
      expect(after.rssMb).toBeLessThan(idle.rssMb + 150);
    },
  );

  it(
    'runs an http/transform node while code nodes wait for a sandbox (they hold no executor slot)',
    { timeout: 60_000 },
    async () => {
      h = await createExecutorHarness({ EXECUTOR_CONCURRENCY: '2', EXECUTOR_CODE_WORKERS: '1' });
      await h.startExecutor();
      // ARRANGE: three endless code nodes on a one-sandbox pool, more than the executor's 2 slots
      const loop = { timeout_ms: 30_000 };
      const busy = await h.createWorkflow({
        name: 'busy',
        nodes: [
          n.code('l1', 'while (true) {}', loop),
          n.code('l2', 'while (true) {}', loop),
          n.code('l3', 'while (true) {}', loop),
        ],
      });
      const busyId = await h.start(busy);
      await h.waitFor(busyId, ['running']);
      // ACT: another execution with one transform node
      const quick = await h.createWorkflow({ name: 'quick', nodes: [n.transform('t', '1 + 1')] });
      const done = await h.waitFor(await h.start(quick), undefined, 20_000);
      // ASSERT: it finished while every code node still waited or ran (none had timed out)
      expect(done).toMatchObject({ status: 'success', output: { t: 2 } });
      const stillBusy = await h.get(busyId);
      expect(stillBusy.status).toBe('running');
      expect(stillBusy.nodeRuns.filter((r) => r.status !== 'running')).toEqual([]);
    },
  );
});
