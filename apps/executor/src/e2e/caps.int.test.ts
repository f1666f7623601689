import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

// Error messages are truncated where they are made (8 KiB) and an execution's total output is
// capped (here 100,000 bytes): huge values fail cleanly and never reach Postgres or Redis.
let h: ExecutorHarness;
beforeAll(async () => {
  h = await createExecutorHarness({ LINKFLOW_MAX_EXECUTION_OUTPUT_BYTES: '100000' });
  await h.startExecutor();
});
afterAll(async () => h.close());

async function run(definition: Parameters<ExecutorHarness['createWorkflow']>[0]) {
  const id = await h.start(await h.createWorkflow(definition));
  return { id, e: await h.waitFor(id, undefined, 60_000) };
}

/** Bytes Postgres holds for an execution: its error and output, its node runs, its logs. */
async function storedBytes(id: string) {
  const q = async (sql: string) =>
    Number((await h.db.pool.query<{ n: string | null }>(sql, [id])).rows[0]?.n ?? 0);
  return {
    execution: await q(
      `select coalesce(octet_length(error::text), 0) + coalesce(octet_length(output::text), 0) as n
       from executions where id = $1`,
    ),
    nodeRuns: await q(
      `select sum(octet_length(coalesce(error::text, '')) + octet_length(coalesce(attempt_log::text, '')))
       as n from node_runs where execution_id = $1`,
    ),
    logs: await q(
      `select sum(octet_length(message) + octet_length(coalesce(data::text, ''))) as n
       from execution_logs where execution_id = $1`,
    ),
  };
}

describe('error message truncation', () => {
  it('fails a transform $error of a 100 KB message with the message cut to 8 KiB everywhere', async () => {
    const { id, e } = await run({
      name: 'err-100k',
      nodes: [n.transform('boom', '$error($pad("", 100000, "x"))')],
    });
    expect(e.status).toBe('failed');
    expect(e.error).toMatchObject({ type: 'EXPRESSION', node_id: 'boom' });
    expect(Buffer.byteLength(e.error?.message ?? '')).toBeLessThanOrEqual(8 * 1024);
    expect(e.error?.message).toMatch(/\[truncated, \d+ bytes\]$/);
    const stored = await storedBytes(id);
    expect(stored.execution).toBeLessThan(10_000);
    expect(stored.nodeRuns).toBeLessThan(20_000);
    expect(stored.logs).toBeLessThan(40_000);
  });

  it('fails a transform $error of a 50 MB message without writing it, and keeps serving', async () => {
    const { id, e } = await run({
      name: 'err-50m',
      nodes: [n.transform('boom', '$error($pad("", 5e7, "x"))')],
    });
    expect(e.status).toBe('failed');
    expect(Buffer.byteLength(e.error?.message ?? '')).toBeLessThanOrEqual(8 * 1024);
    const stored = await storedBytes(id);
    expect(stored.execution + stored.nodeRuns + stored.logs).toBeLessThan(100_000);
    const after = await run({ name: 'after', nodes: [n.transform('ok', '1 + 1')] });
    expect(after.e).toMatchObject({ status: 'success', output: { ok: 2 } });
  });
});

describe('execution output cap', () => {
  it('fails an execution whose sinks add up past the cap with EXECUTION, writing no output', async () => {
    //  a (60 KB)   b (60 KB)   — two sinks, 120 KB together, cap 100,000 bytes
    const { e } = await run({
      name: 'big-output',
      nodes: [n.transform('a', '$pad("", 60000, "a")'), n.transform('b', '$pad("", 60000, "b")')],
    });
    expect(e.status).toBe('failed');
    expect(e.output).toBeNull();
    expect(e.error).toMatchObject({ type: 'EXECUTION', node_id: null });
    expect(e.error?.message).toContain('100000-byte limit (LINKFLOW_MAX_EXECUTION_OUTPUT_BYTES)');
    expect(e.nodeRuns.map((r) => r.status)).toEqual(['success', 'success']);
  });

  it('keeps an output under the cap', async () => {
    const { e } = await run({
      name: 'small-output',
      nodes: [n.transform('a', '$pad("", 60000, "a")')],
    });
    expect(e.status).toBe('success');
    expect((e.output as { a: string }).a).toHaveLength(60_000);
  });
});
