import { describe, expect, it } from 'vitest';
import type { NewLogEntry } from '@linkflow/domain';
import { Checkpointer, type CheckpointerDeps } from './checkpointer.ts';
import type { NodeRunResult } from './node-runner.ts';
import { RunHandle } from './run-handle.ts';

const at = new Date('2026-12-05T10:00:00.000Z');

const result: NodeRunResult = {
  status: 'success',
  output: { v: 1 },
  outputJson: '{"v":1}',
  outputBytes: 7,
  error: null,
  attempts: 1,
  attemptLog: [],
  usage: {},
  cost: '0',
  startedAt: at,
  finishedAt: at,
  durationMs: 0,
  logs: [{ at, level: 'info', message: 'node a succeeded in 0 ms' }],
};

function checkpointer(skipCheckpoints: boolean) {
  const writes: string[] = [];
  const statuses: unknown[][] = [];
  const deps: CheckpointerDeps = {
    runStore: {
      checkpoint: (_fence, run) => {
        writes.push(run.nodeId);
        return Promise.resolve([1]);
      },
      readState: () => Promise.resolve(undefined),
      appendLogs: () => Promise.resolve([]),
      markStarted: () => Promise.resolve(),
      isTransient: () => false,
    },
    events: { status: (...args) => statuses.push(args), logs: () => undefined },
    skipCheckpoints,
  };
  const c = new Checkpointer(deps, { executionId: 'e1', attempt: 1 }, new RunHandle(), () => 't');
  return { c, writes, statuses };
}

describe('Checkpointer with skipCheckpoints (bench only)', () => {
  it('writes nothing per node, publishes the status and keeps the lines for the final write', async () => {
    const { c, writes, statuses } = checkpointer(true);
    c.log({ at, level: 'info', message: 'execution started' });
    await c.settle('a', result, { last: false, starting: ['b'] });
    expect(writes).toEqual([]);
    expect(statuses).toEqual([['e1', 'success', 'a', undefined]]);
    const pending: NewLogEntry[] = c.takePending();
    expect(pending.map((l) => [l.nodeId, l.message])).toEqual([
      [null, 'execution started'],
      ['a', 'node a succeeded in 0 ms'],
    ]);
  });

  it('checkpoints every node without the switch', async () => {
    const { c, writes } = checkpointer(false);
    await c.settle('a', result, { last: false, starting: ['b'] });
    expect(writes).toEqual(['a']);
    expect(c.takePending()).toEqual([]);
  });
});
