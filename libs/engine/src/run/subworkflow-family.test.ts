import { describe, expect, it } from 'vitest';
import { AppError, type CancelledChild, type SpawnedExecution } from '@linkflow/domain';
import { createRecordingLogger } from '../testing/recording-logger.ts';
import { runUntilParked, settleFamily } from './subworkflow-family.ts';
import type { ChildExecutionPort } from './subworkflow-port.ts';
import type { DagRunOutcome } from './dag-runner.ts';

const parent: SpawnedExecution = {
  executionId: 'p',
  tenantId: 't',
  priority: 'normal',
  workerTags: [],
};

function port(overrides: Partial<ChildExecutionPort> = {}): ChildExecutionPort {
  return {
    start: () => Promise.resolve({ kind: 'fenced' }),
    park: () => Promise.resolve('parked'),
    wakeParent: () => Promise.resolve(undefined),
    cancelDescendants: () => Promise.resolve([]),
    abandonedParents: () => Promise.resolve([]),
    ...overrides,
  };
}

const clock = { now: () => new Date() };

/** An execution with children and a parent: every step of settleFamily applies. */
const both = { executionId: 'e', mayHaveChildren: true, hasParent: true };

describe('settleFamily', () => {
  it('cancels the children, signals the running ones and enqueues a woken parent', async () => {
    const cancelled: CancelledChild[] = [
      { id: 'c1', from: 'running' },
      { id: 'c2', from: 'pending' },
    ];
    const signalled: string[] = [];
    const requeued: string[] = [];
    const children = port({
      cancelDescendants: () => Promise.resolve(cancelled),
      signalCancel: (ids) => {
        signalled.push(...ids);
        return Promise.resolve();
      },
      wakeParent: () => Promise.resolve(parent),
    });
    const queue = {
      requeue: (r: SpawnedExecution) => {
        requeued.push(r.executionId);
        return Promise.resolve(true);
      },
    };
    // ACT
    await settleFamily({ children, queue, clock, log: createRecordingLogger() }, both);
    // ASSERT
    expect(signalled).toEqual(['c1']);
    expect(requeued).toEqual(['p']);
  });

  it('leaves a woken parent to the sweeper when its parking job never lets go', async () => {
    const log = createRecordingLogger();
    let tries = 0;
    const queue = {
      requeue: () => {
        tries++;
        return Promise.resolve(false);
      },
    };
    const children = port({ wakeParent: () => Promise.resolve(parent) });
    // ACT
    await settleFamily({ children, queue, clock, log }, both);
    // ASSERT
    expect(tries).toBe(10);
    expect(log.lines.map((l) => l.message)).toContain(
      'parent execution still has a job; the sweeper enqueues it',
    );
  }, 10_000);

  it('never throws when the store fails, and says the sweeper finishes', async () => {
    const log = createRecordingLogger();
    const children = port({
      cancelDescendants: () =>
        Promise.reject(new AppError('DB_DOWN', 'down', { kind: 'unavailable' })),
    });
    await expect(
      settleFamily({ children, queue: undefined, clock, log }, both),
    ).resolves.toBeUndefined();
    expect(log.lines.map((l) => l.level + ' ' + l.message)).toContain(
      'warn could not settle the child or parent executions; the sweeper will',
    );
  });
});

describe('settleFamily without relatives', () => {
  it('asks nothing of the store for an execution that can have neither children nor a parent', async () => {
    let asked = 0;
    const children = port({
      cancelDescendants: () => ((asked += 1), Promise.resolve([])),
      wakeParent: () => ((asked += 1), Promise.resolve(undefined)),
    });
    const links = { executionId: 'e', mayHaveChildren: false, hasParent: false };
    await settleFamily({ children, queue: undefined, clock, log: createRecordingLogger() }, links);
    expect(asked).toBe(0);
  });

  it('wakes only the parent of a child whose workflow starts no children', async () => {
    const asked: string[] = [];
    const children = port({
      cancelDescendants: () => (asked.push('cancel'), Promise.resolve([])),
      wakeParent: () => (asked.push('wake'), Promise.resolve(undefined)),
    });
    const links = { executionId: 'e', mayHaveChildren: false, hasParent: true };
    await settleFamily({ children, queue: undefined, clock, log: createRecordingLogger() }, links);
    expect(asked).toEqual(['wake']);
  });
});

describe('runUntilParked', () => {
  const waiting: DagRunOutcome = { status: 'waiting', nodeIds: ['call'] };
  const success: DagRunOutcome = { status: 'success', output: {} };

  it('runs the DAG again when a child ended while the run was parking', async () => {
    const outcomes = [waiting, success];
    const states = new Map([['call', { status: 'running' as const }]]);
    let flushes = 0;
    const end = await runUntilParked(() => Promise.resolve(outcomes.shift() ?? success), {
      children: port({ park: () => Promise.resolve('child_ended') }),
      fence: { executionId: 'e', attempt: 1 },
      clock,
      states,
      flush: () => {
        flushes++;
        return Promise.resolve();
      },
      log: createRecordingLogger(),
    });
    expect(end).toEqual(success);
    expect(flushes).toBe(1);
    expect(states.has('call')).toBe(false);
  });

  it('ends parked when the park holds, and also when the run lost its claim', async () => {
    for (const answer of ['parked', 'fenced'] as const) {
      const end = await runUntilParked(() => Promise.resolve(waiting), {
        children: port({ park: () => Promise.resolve(answer) }),
        fence: { executionId: 'e', attempt: 1 },
        clock,
        states: new Map(),
        flush: () => Promise.resolve(),
        log: createRecordingLogger(),
      });
      expect(end).toEqual({ status: 'parked' });
    }
  });
});
