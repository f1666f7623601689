import { describe, expect, it } from 'vitest';
import { createNodeRegistry, createTransformNode } from '@linkflow/nodes';
import type { WorkflowDefinition } from '@linkflow/domain';
import { compileTestWorkflow, dagRequest, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { runDag, type DagRunRequest } from './dag-runner.ts';

const registry = createNodeRegistry([createTransformNode()]);

function transforms(ids: readonly string[]): WorkflowDefinition['nodes'] {
  return ids.map((id) => ({ id, type: 'transform', config: { expression: '1' } }));
}

/** Runs a DAG and records how each started node was recorded `running`. */
async function recordStarts(
  definition: WorkflowDefinition,
  overrides: Partial<DagRunRequest> = {},
) {
  const workflow = compileTestWorkflow(definition, registry);
  const announced: string[] = [];
  const unannounced: string[] = [];
  const started: string[] = [];
  const outcome = await withNodeDeps(registry, { slots: 8, maxOutputBytes: 1024 }, (deps) =>
    runDag(
      deps,
      dagRequest(workflow, {
        onStarted: (id) => started.push(id),
        onUnannounced: (ids) => unannounced.push(...ids),
        ...overrides,
        onSettled: async (id, result, next) => {
          announced.push(...(next?.starting ?? []));
          await overrides.onSettled?.(id, result, next);
        },
      }),
    ),
  );
  return { outcome, announced, unannounced, started };
}

describe('runDag records every started node running before or as it starts', () => {
  it('announces a join whose two parents settle at the same moment', async () => {
    //   a ─┐
    //      ├─> c
    //   b ─┘      (a's checkpoint is still being written when b settles)
    let releaseA: () => void = () => undefined;
    const aHeld = new Promise<void>((resolve) => (releaseA = resolve));
    const { outcome, announced, unannounced } = await recordStarts(
      {
        name: 'w',
        nodes: transforms(['a', 'b', 'c']),
        edges: [
          { from: 'a', to: 'c' },
          { from: 'b', to: 'c' },
        ],
      },
      {
        onSettled: async (id) => {
          if (id === 'a') await aHeld;
          if (id === 'b') releaseA();
        },
      },
    );
    expect(outcome.status).toBe('success');
    expect(announced).toEqual(['c']);
    expect(unannounced).toEqual([]);
  });

  it('reports nodes ready at a resume as unannounced, and announces the rest', async () => {
    //   a (checkpointed) -> b -> c
    const { announced, unannounced, started } = await recordStarts(
      {
        name: 'w',
        nodes: transforms(['a', 'b', 'c']),
        edges: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
        ],
      },
      { states: new Map([['a', { status: 'success', output: 1, error: null }]]) },
    );
    expect(started).toEqual(['b', 'c']);
    expect(unannounced).toEqual(['b']);
    expect(announced).toEqual(['c']);
  });

  it("announces every non-root of a fresh run through its parents' checkpoints", async () => {
    //   r1 -> x ─┐        r2 -> y ─┼─> z -> end
    //            └──────────────────┘
    const { announced, unannounced, started } = await recordStarts({
      name: 'w',
      nodes: transforms(['r1', 'r2', 'x', 'y', 'z', 'end']),
      edges: [
        { from: 'r1', to: 'x' },
        { from: 'r2', to: 'y' },
        { from: 'x', to: 'z' },
        { from: 'y', to: 'z' },
        { from: 'z', to: 'end' },
      ],
    });
    // a fresh run needs no extra write: every non-root rides a parent's checkpoint
    expect(unannounced).toEqual([]);
    expect([...announced].sort()).toEqual(['end', 'x', 'y', 'z']);
    expect(started).toHaveLength(6);
  });

  it('announces no more nodes than max_concurrency leaves room for', async () => {
    //   root -> a, b, c, d   (max_concurrency 2)
    const { announced, unannounced, started } = await recordStarts({
      name: 'w',
      settings: { max_concurrency: 2 },
      nodes: transforms(['root', 'a', 'b', 'c', 'd']),
      edges: ['a', 'b', 'c', 'd'].map((to) => ({ from: 'root', to })),
    });
    expect(started).toHaveLength(5);
    expect(announced.slice(0, 2)).toEqual(['a', 'b']);
    expect([...announced, ...unannounced].sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('never shows more nodes running than max_concurrency when roots wait for a slot', async () => {
    //   r1 -> c;  r2, r3, r4 roots too   (max_concurrency 2: r3 and r4 wait for slots)
    const workflow = compileTestWorkflow(
      {
        name: 'w',
        settings: { max_concurrency: 2 },
        nodes: transforms(['r1', 'r2', 'r3', 'r4', 'c']),
        edges: [{ from: 'r1', to: 'c' }],
      },
      registry,
    );
    // Shown running: started and not settled, or announced (recorded running) and not started.
    const inFlight = new Set<string>();
    const announcedWaiting = new Set<string>();
    const unannounced: string[] = [];
    const announcedEver: string[] = [];
    let mostShown = 0;
    const observe = () => (mostShown = Math.max(mostShown, inFlight.size + announcedWaiting.size));
    const outcome = await withNodeDeps(registry, { slots: 8, maxOutputBytes: 1024 }, (deps) =>
      runDag(
        deps,
        dagRequest(workflow, {
          onUnannounced: (ids) => unannounced.push(...ids),
          onStarted: (id) => {
            announcedWaiting.delete(id);
            inFlight.add(id);
            observe();
          },
          onSettled: (id, _result, next) => {
            inFlight.delete(id);
            for (const started of next?.starting ?? []) announcedWaiting.add(started);
            announcedEver.push(...(next?.starting ?? []));
            observe();
            return Promise.resolve();
          },
        }),
      ),
    );
    expect(outcome.status).toBe('success');
    expect(mostShown).toBeLessThanOrEqual(2);
    // the claim recorded r1 and r2 only: r3 and r4, like c, are recorded by a checkpoint or
    // a mark as they start
    expect([...announcedEver, ...unannounced].sort()).toEqual(['c', 'r3', 'r4']);
  });
});
