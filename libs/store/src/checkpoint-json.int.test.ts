import { describe, expect, it } from 'vitest';
import type { Fence, NewLogEntry, NodeRunWrite } from '@linkflow/domain';
import { writeCheckpoints, type CheckpointRequest } from './checkpoint-batch.ts';
import { useRunFixture } from './testing/run-fixture.ts';

// The checkpoint statement takes its rows as JSON text: what JSON (or Postgres' reading of
// it) would change or refuse must still be stored as the values say, one request at a time.

const fixture = useRunFixture(
  'json-rows',
  ['a', 'b', 'c'].map((id) => ({ id, type: 'transform', config: { expression: '1' } })),
);
const claimed = () => fixture.claimed();
const pool = () => fixture.db().pool;

const run = (nodeId: string, over: Partial<NodeRunWrite> = {}): NodeRunWrite => ({
  ...{ nodeId, type: 'transform', status: 'success', attempts: 1, durationMs: 1 },
  ...{ startedAt: new Date(), finishedAt: new Date(), outputJson: '1', outputBytes: 1 },
  ...{ error: null, attemptLog: [], usage: null, cost: '0' },
  ...over,
});
const line = (message: string, data?: unknown): NewLogEntry => ({
  ...{ at: new Date(), level: 'info', nodeId: null, message },
  ...(data === undefined ? {} : { data }),
});
const req = (fence: Fence, r: NodeRunWrite, logs: NewLogEntry[] = []): CheckpointRequest => ({
  ...{ fence, run: r, logs, whileStatus: ['running'] },
});

async function messages(executionId: string): Promise<Map<number, string>> {
  const r = await pool().query<{ seq: number; message: string }>(
    'select seq, message from execution_logs where execution_id = $1',
    [executionId],
  );
  return new Map(r.rows.map((x) => [x.seq, x.message]));
}

describe('checkpoint rows as JSON', () => {
  it('returns the seqs of each request’s own lines (same execution twice, 0 to 3 lines, a stale fence among them)', async () => {
    // ARRANGE
    const [e1, e2] = [await claimed(), await claimed()];
    const stale: Fence = { ...e2, attempt: e2.attempt + 5 };
    const batch = [
      req(e1, run('a'), [line('a1'), line('a2')]),
      req(stale, run('a'), [line('x1')]),
      req(e2, run('a')),
      req(e2, run('b'), [line('e2b1')]),
      req(e1, run('c'), [line('c1'), line('c2'), line('c3')]),
    ];
    // ACT
    const seqs = await writeCheckpoints(pool(), batch);
    // ASSERT
    const [m1, m2] = [await messages(e1.executionId), await messages(e2.executionId)];
    expect(seqs[0]?.map((s) => m1.get(s))).toEqual(['a1', 'a2']);
    expect(seqs[1]).toBeUndefined();
    expect(seqs[2]).toEqual([]);
    expect(seqs[3]?.map((s) => m2.get(s))).toEqual(['e2b1']);
    expect(seqs[4]?.map((s) => m1.get(s))).toEqual(['c1', 'c2', 'c3']);
  });

  it('stores a NUL or lone surrogate in a message or error as U+FFFD instead of failing the row', async () => {
    // ARRANGE: text Postgres cannot hold, in a line and in a run's error
    const e = await claimed();
    const error = { type: 'EXPRESSION' as const, message: 'bad \u0000 and \ud800 here' };
    const failed = run('a', { status: 'failed', outputJson: null, outputBytes: 0, error });
    // ACT
    const [seqs] = await writeCheckpoints(pool(), [req(e, failed, [line('lone \ud800 msg')])]);
    // ASSERT
    expect(seqs).toHaveLength(1);
    const row = await pool().query<{ message: string }>(
      `select error->>'message' as message from node_runs where execution_id = $1 and node_id = 'a'`,
      [e.executionId],
    );
    expect(row.rows[0]?.message).toBe('bad \ufffd and \ufffd here');
    expect([...(await messages(e.executionId)).values()]).toEqual(['lone \ufffd msg']);
  });

  it('keeps a literal backslash-u in text as it is', async () => {
    const e = await claimed();
    const [seqs] = await writeCheckpoints(pool(), [req(e, run('a'), [line('path \\u0000 ok')])]);
    expect(seqs).toHaveLength(1);
    expect([...(await messages(e.executionId)).values()]).toEqual(['path \\u0000 ok']);
  });

  it('stores a non-finite duration as no duration, as JSON.stringify would', async () => {
    const e = await claimed();
    const [seqs] = await writeCheckpoints(pool(), [req(e, run('a', { durationMs: Number.NaN }))]);
    expect(seqs).toEqual([]);
    const r = await pool().query<{ d: number | null }>(
      `select duration_ms as d from node_runs where execution_id = $1 and node_id = 'a'`,
      [e.executionId],
    );
    expect(r.rows).toEqual([{ d: null }]);
  });

  it('stores line data that JSON cannot express as no data', async () => {
    const e = await claimed();
    const [seqs] = await writeCheckpoints(pool(), [req(e, run('a'), [line('fn', () => 1)])]);
    expect(seqs).toHaveLength(1);
  });

  it('stores a node output of JSON null as jsonb null, and a run without output as SQL NULL', async () => {
    // ARRANGE
    const e = await claimed();
    const none = run('b', { status: 'failed', outputJson: null, outputBytes: 0 });
    // ACT
    await writeCheckpoints(pool(), [req(e, run('a', { outputJson: 'null' })), req(e, none)]);
    // ASSERT
    const r = await pool().query<{ node_id: string; t: string | null }>(
      `select node_id, jsonb_typeof(output) as t from node_runs where execution_id = $1 and node_id in ('a', 'b') order by node_id`,
      [e.executionId],
    );
    expect(r.rows).toEqual([
      { node_id: 'a', t: 'null' },
      { node_id: 'b', t: null },
    ]);
  });
});
