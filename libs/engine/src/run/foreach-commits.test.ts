import { describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '@linkflow/domain';
import {
  createConditionNode,
  createForeachNode,
  createNodeRegistry,
  createReturnNode,
  createTransformNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import {
  compileTestWorkflow,
  dagRequest,
  withNodeDeps,
  fakeNodeType,
  returnInLoop,
} from '../testing/node-runner-fakes.ts';
import { runDag, type DagRunOutcome, type DagRunRequest } from './dag-runner.ts';

// A loop's lanes and their checkpoint writes: a lane goes on while its last write commits,
// never more than one iteration ahead, and the loop ends only once every write committed.

/** `probe` (typed as code): records `<node>:<item>` of each run. */
const ran: string[] = [];
/** Node `d` waits for it (a main-DAG node that ends when the test says). */
let dGate: Promise<void> = Promise.resolve();
const probe = fakeNodeType('code', async (ctx, _config, input) => {
  ran.push(`${ctx.nodeId}:${String(input.item)}`);
  if (ctx.nodeId === 'd') await dGate;
  return { output: { item: input.item ?? null }, usage: {} };
});
const registry = createNodeRegistry([
  createTransformNode(),
  createConditionNode(),
  createReturnNode(),
  createForeachNode(),
  probe,
] as NodeDefinition<never>[]);

//   each (foreach over input.items, two lanes or one at a time): body [a → b] or [b]
const loop = (body: string[], lanes: 1 | 2): WorkflowDefinition => ({
  name: 'commits',
  nodes: [
    {
      id: 'each',
      type: 'foreach',
      config: { items: 'input.items', body, parallel: lanes === 2, max_parallel: lanes },
    },
    ...body.map((id) => ({ id, type: 'code', config: {} })),
  ],
  edges: body.length === 2 ? [{ from: 'a', to: 'b' }] : [],
});

const returnLoop = returnInLoop('input.items', 'code');

/** Checkpoint writes the test settles by hand, in the order they were asked for. */
function heldWrites() {
  const writes: { key: string; resolve: () => void; reject: (err: Error) => void }[] = [];
  return {
    writes,
    keys: () => writes.map((w) => w.key).sort(),
    of: (key: string) => {
      const write = writes.find((w) => w.key === key);
      if (write === undefined) throw new TypeError(`no write ${key} yet`);
      return write;
    },
    settle: ({ nodeId, iteration }: { nodeId: string; iteration: number }) =>
      new Promise<void>((resolve, reject) => {
        writes.push({ key: `${nodeId}#${iteration}`, resolve, reject });
      }),
  };
}

/** Lets every pending promise callback and timer of this turn run. */
const drain = () => new Promise((resolve) => setTimeout(resolve, 5));

function start(
  definition: WorkflowDefinition,
  items: unknown[],
  settle: NonNullable<DagRunRequest['onScopedSettled']>,
) {
  ran.length = 0;
  const workflow = compileTestWorkflow(definition, registry);
  let done: DagRunOutcome | Error | undefined;
  const outcome = withNodeDeps(registry, { maxOutputBytes: 1 << 20, slots: 4 }, (deps) =>
    runDag(
      deps,
      dagRequest(workflow, {
        context: { input: { items }, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
        onScopedSettled: settle,
      }),
    ),
  ).then(
    (o) => (done = o),
    (err: Error) => (done = err),
  );
  return { outcome, done: () => done };
}

describe('foreach lanes and their checkpoint writes', () => {
  it("in parallel, runs a lane's next iteration while its last write commits, never two ahead", async () => {
    // ARRANGE: two lanes; no write commits until the test says so
    const held = heldWrites();
    const run = start(loop(['b'], 2), ['x', 'y', 'z', 'w', 'v'], held.settle);
    // ACT: each lane ran one iteration and went on to the next
    await drain();
    // ASSERT: four ran; the fifth waits for a lane's first write
    expect([...ran].sort()).toEqual(['b:w', 'b:x', 'b:y', 'b:z']);
    expect(held.keys()).toEqual(['b#0', 'b#1', 'b#2', 'b#3']);
    held.of('b#0').resolve();
    await drain();
    expect(ran).toContain('b:v');
    // ASSERT: the loop has not ended while a write is pending
    for (const key of ['b#1', 'b#2', 'b#3']) held.of(key).resolve();
    await drain();
    expect(run.done()).toBeUndefined();
    held.of('b#4').resolve();
    await run.outcome;
    expect(run.done()).toEqual({
      status: 'success',
      output: { each: ['x', 'y', 'z', 'w', 'v'].map((item) => ({ item })) },
    });
  });

  it("one at a time, starts no iteration before the last one's write committed", async () => {
    // ARRANGE
    const held = heldWrites();
    const run = start(loop(['b'], 1), ['x', 'y'], held.settle);
    // ACT
    await drain();
    // ASSERT: y waits for x's checkpoint
    expect(ran).toEqual(['b:x']);
    held.of('b#0').resolve();
    await drain();
    expect(ran).toEqual(['b:x', 'b:y']);
    held.of('b#1').resolve();
    await run.outcome;
    expect(run.done()).toMatchObject({ status: 'success' });
  });

  it('awaits the write of a member that another member of the body depends on', async () => {
    // ARRANGE: body a → b, two lanes
    const held = heldWrites();
    const run = start(loop(['a', 'b'], 2), ['x'], held.settle);
    // ACT
    await drain();
    // ASSERT: b waits for a's checkpoint
    expect(ran).toEqual(['a:x']);
    held.of('a#0').resolve();
    await drain();
    expect(ran).toEqual(['a:x', 'b:x']);
    held.of('b#0').resolve();
    await run.outcome;
    expect(run.done()).toMatchObject({ status: 'success' });
  });

  it('fails the run with the error of a write that failed after its lane went on', async () => {
    // ARRANGE
    const held = heldWrites();
    const run = start(loop(['b'], 2), ['x', 'y', 'z', 'w', 'v'], held.settle);
    await drain();
    // ACT: write 0 fails (the database gone past its retries) while its lane ran z
    held.of('b#0').reject(new Error('database unreachable'));
    for (const key of ['b#1', 'b#2', 'b#3']) held.of(key).resolve();
    await drain();
    // ASSERT: the loop waits for the other lane's last write before it throws
    expect(run.done()).toBeUndefined();
    for (const w of held.writes) w.resolve();
    await run.outcome;
    // ASSERT: the error comes out of the run, as an awaited write's would
    expect(run.done()).toBeInstanceOf(Error);
    expect((run.done() as Error).message).toBe('database unreachable');
  });

  it('fails the run with a write that failed while its lane still waited on the one before', async () => {
    // ARRANGE: lane 1 ran x then z; lane 2 ran y
    const held = heldWrites();
    const run = start(loop(['b'], 2), ['x', 'y', 'z'], held.settle);
    await drain();
    // ACT: z's write fails first (nothing awaits it yet), then the others commit
    held.of('b#2').reject(new Error('statement timeout'));
    await drain();
    held.of('b#0').resolve();
    held.of('b#1').resolve();
    await run.outcome;
    // ASSERT: no unhandled rejection (vitest fails the file on one); the run has the error
    expect((run.done() as Error).message).toBe('statement timeout');
  });

  it("writes no return while an earlier iteration's write is unsettled, nor once it failed", async () => {
    // ARRANGE: work#0's write hangs, then fails (a cancelled statement is not retried)
    const written: string[] = [];
    let failWork: (err: Error) => void = () => undefined;
    const settle: NonNullable<DagRunRequest['onScopedSettled']> = (s) => {
      const key = `${s.nodeId}#${s.iteration}:${s.result.status}`;
      if (key === 'work#0:success')
        return new Promise<void>((_, reject) => {
          failWork = reject;
        });
      written.push(key);
      return Promise.resolve();
    };
    const run = start(returnLoop, ['a', 'b', 'stop'], settle);
    // ACT: iteration 2's return succeeded while work#0's write was pending
    await drain();
    expect([...ran].sort()).toEqual(['work:a', 'work:b']);
    expect(written).toContain('check#2:success');
    expect(written).not.toContain('stop#2:success');
    failWork(new Error('canceling statement due to user request'));
    await run.outcome;
    // ASSERT: the return was never written (a resume reruns both); the run failed
    expect(written).not.toContain('stop#2:success');
    expect((run.done() as Error).message).toBe('canceling statement due to user request');
  });

  it('throws only once every write of the attempt settled, the failing lane’s own too', async () => {
    // ARRANGE: lane 1 ran x then z (z's write outstanding); lane 2 ran y then w
    const held = heldWrites();
    const run = start(loop(['b'], 2), ['x', 'y', 'z', 'w'], held.settle);
    await drain();
    // ACT: x's write fails; the others but z's commit
    held.of('b#0').reject(new Error('database unreachable'));
    held.of('b#1').resolve();
    held.of('b#3').resolve();
    await drain();
    // ASSERT: z's write is still in flight, so the loop has not thrown yet
    expect(run.done()).toBeUndefined();
    held.of('b#2').resolve();
    await run.outcome;
    expect((run.done() as Error).message).toBe('database unreachable');
  });

  it('writes no return of the main DAG while a loop write is unsettled, nor once it failed', async () => {
    // ARRANGE: each (two lanes over x, y) beside d → r (return)
    const held = heldWrites();
    const written: string[] = [];
    let openD: () => void = () => undefined;
    dGate = new Promise((resolve) => (openD = resolve));
    const definition: WorkflowDefinition = {
      name: 'main-return',
      nodes: [
        {
          id: 'each',
          type: 'foreach',
          config: { items: 'input.items', body: ['b'], parallel: true, max_parallel: 2 },
        },
        { id: 'b', type: 'code', config: {} },
        { id: 'd', type: 'code', config: {} },
        { id: 'r', type: 'return', config: { value: 'done' } },
      ],
      edges: [{ from: 'd', to: 'r' }],
    };
    const outcome = withNodeDeps(registry, { maxOutputBytes: 1 << 20, slots: 4 }, (deps) =>
      runDag(
        deps,
        dagRequest(compileTestWorkflow(definition, registry), {
          context: {
            input: { items: ['x', 'y'] },
            execution: { id: 'e', workflow_id: 'w', attempt: 1 },
          },
          onScopedSettled: held.settle,
          onSettled: (id, r) => {
            written.push(`${id}:${r.status}`);
            return Promise.resolve();
          },
        }),
      ),
    ).catch((err: unknown) => err);
    await drain();
    // ACT: with both loop writes in flight, d ends and r returns; then x's write fails
    expect(held.keys()).toEqual(['b#0', 'b#1']);
    openD();
    await drain();
    held.of('b#0').reject(new Error('database unreachable'));
    for (const w of held.writes) w.resolve();
    // ASSERT: the run failed and the return was never checkpointed
    expect(await outcome).toBeInstanceOf(Error);
    expect(written).not.toContain('r:success');
  });
});
