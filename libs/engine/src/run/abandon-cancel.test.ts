import { describe, expect, it } from 'vitest';
import {
  createForeachNode,
  createNodeRegistry,
  createTryNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import {
  compileTestWorkflow,
  dagRequest,
  fakeNodeType,
  withNodeDeps,
} from '../testing/node-runner-fakes.ts';
import { Checkpointer } from './checkpointer.ts';
import { runDag } from './dag-runner.ts';
import { RunHandle } from './run-handle.ts';

// A user cancel is in effect (the API cancelled the execution; no retry will run anything)
// when a write fails and the run is abandoned: nodes that settle cancelled afterwards are
// still recorded `cancelled` (a restartable row is only for a run whose job is retried).

/** `slow` nodes wait for their abort. */
const slow = fakeNodeType(
  'code',
  (ctx) =>
    new Promise((_, reject) =>
      ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))),
    ),
);
const registry = createNodeRegistry([
  createForeachNode(),
  createTryNode(),
  slow,
] as NodeDefinition<never>[]);

//   a (slow) ; each: foreach ["x"] body [guard] ; guard: try [p (slow)]
const definition = {
  name: 'cancel-then-lost-write',
  nodes: [
    { id: 'a', type: 'code', config: {} },
    { id: 'each', type: 'foreach', config: { items: '["x"]', body: ['guard'] } },
    { id: 'guard', type: 'try', config: { try: ['p'] } },
    { id: 'p', type: 'code', config: {} },
  ],
  edges: [],
};

const drain = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('a cancel in effect, then a write fails', () => {
  it('still records every node in flight at the cancel as cancelled', async () => {
    const held: { key: string; resolve: () => void; reject: (e: Error) => void }[] = [];
    let autoCommit = false;
    const handle = new RunHandle();
    const checkpointer = new Checkpointer(
      {
        runStore: {
          checkpoint: (_fence, run) =>
            new Promise<number[]>((resolve, reject) => {
              if (autoCommit) resolve([]);
              held.push({
                key: `${run.nodeId}#${run.iteration}:${run.status}`,
                resolve: () => resolve([]),
                reject,
              });
            }),
          readState: () => Promise.resolve(undefined),
          appendLogs: () => Promise.resolve([]),
          markStarted: () => Promise.resolve(),
          isTransient: () => false,
        },
        events: { status: () => undefined, logs: () => undefined },
      },
      { executionId: 'e', attempt: 1 },
      handle,
      () => 'code',
    );
    const workflow = compileTestWorkflow(definition, registry);
    const run = withNodeDeps(registry, { maxOutputBytes: 1 << 20, slots: 4 }, (deps) =>
      runDag(
        deps,
        dagRequest(workflow, {
          signal: handle.controller.signal,
          onAbandon: () => handle.abandon(),
          onSettled: (id, r, next) => checkpointer.settle(id, r, next),
          onScopedSettled: ({ nodeId, iteration, result }) =>
            checkpointer.settle(nodeId, result, { last: false, starting: [], iteration }),
        }),
      ),
    ).catch((err: unknown) => err);
    await drain();
    // ACT: the user cancels (the API already wrote `cancelled`); a and p end cancelled
    handle.stop('cancel');
    await drain();
    expect(held.map((w) => w.key).sort()).toEqual(['a#-1:cancelled', 'p#0:cancelled']);
    // a's write fails (Postgres gone past its retries), then p's commits
    held.find((w) => w.key === 'a#-1:cancelled')?.reject(new Error('database unreachable'));
    await drain();
    held.find((w) => w.key === 'p#0:cancelled')?.resolve();
    await drain();
    autoCommit = true;
    for (const w of held) w.resolve();
    expect(await run).toBeInstanceOf(Error);
    // ASSERT: guard (iteration 0) was in flight at the cancel: it is recorded, not dropped
    expect(held.map((w) => w.key)).toContain('guard#0:cancelled');
  });
});
