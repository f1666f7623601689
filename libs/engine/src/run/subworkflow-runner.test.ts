import { describe, expect, it } from 'vitest';
import type { ChildStart, ChildStartRequest, WorkflowDefinition } from '@linkflow/domain';
import {
  createNodeRegistry,
  createSubworkflowNode,
  createTransformNode,
  type NodeDefinition,
} from '@linkflow/nodes';
import type { JobQueuePort } from '../ports.ts';
import { compileTestWorkflow, dagRequest, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { createRecordingLogger } from '../testing/recording-logger.ts';
import { runDag } from './dag-runner.ts';
import type { NodeRunResult } from './node-runner.ts';
import { runSubworkflow, WAITING, type SubworkflowDeps } from './subworkflow-runner.ts';
import type { ChildExecutionPort } from './subworkflow-port.ts';

const registry = createNodeRegistry([
  createSubworkflowNode(),
  createTransformNode(),
] as NodeDefinition<never>[]);

const definition: WorkflowDefinition = {
  name: 'parent',
  nodes: [
    {
      id: 'call',
      type: 'subworkflow',
      config: { workflow_id: '{{ input.wf }}', input: { n: '{{ input.n }}' } },
    },
  ],
};
const call = compileTestWorkflow(definition, registry).nodes.get('call');
const context = (input: unknown) => ({
  input,
  nodes: {},
  execution: { id: 'p', workflow_id: 'parent-wf', attempt: 1 },
});

/** A child port answering `answer` to every start, recording the requests and enqueues. */
function fakeDeps(answer: ChildStart) {
  const starts: ChildStartRequest[] = [];
  const enqueued: string[] = [];
  const children: ChildExecutionPort = {
    start: (request) => {
      starts.push(request);
      return Promise.resolve(answer);
    },
    park: () => Promise.resolve('parked'),
    wakeParent: () => Promise.resolve(undefined),
    cancelDescendants: () => Promise.resolve([]),
    abandonedParents: () => Promise.resolve([]),
  };
  const queue: Pick<JobQueuePort, 'requeue'> = {
    requeue: (r) => {
      enqueued.push(r.executionId);
      return Promise.resolve(true);
    },
  };
  const deps: SubworkflowDeps = {
    children,
    queue,
    clock: { now: () => new Date() },
    log: createRecordingLogger(),
    fence: { executionId: 'p', attempt: 3 },
  };
  return { deps, starts, enqueued };
}

const run = (deps: SubworkflowDeps, input: unknown = { wf: 'child-wf', n: 7 }) => {
  if (!call) throw new TypeError('no call node');
  return runSubworkflow(deps, call, {
    input: context(input),
    signal: new AbortController().signal,
  });
};
const settled = (r: NodeRunResult | typeof WAITING) => r as NodeRunResult;

describe('runSubworkflow', () => {
  it('renders the target and input, starts the child under the parent claim and waits', async () => {
    const child = { executionId: 'c1', tenantId: 't', priority: 'normal', workerTags: [] } as const;
    const { deps, starts, enqueued } = fakeDeps({ kind: 'created', child });
    // ACT
    const result = await run(deps);
    // ASSERT
    expect(result).toBe(WAITING);
    expect(starts).toEqual([
      expect.objectContaining({
        parent: { executionId: 'p', attempt: 3 },
        nodeId: 'call',
        workflowId: 'child-wf',
        version: undefined,
        input: { n: 7 },
      }),
    ]);
    expect(enqueued).toEqual(['c1']);
  });

  it('still waits when the enqueue of the new child fails (the sweeper enqueues it)', async () => {
    const child = { executionId: 'c1', tenantId: 't', priority: 'normal', workerTags: [] } as const;
    const { deps } = fakeDeps({ kind: 'created', child });
    const failing = {
      ...deps,
      queue: { requeue: () => Promise.reject(new TypeError('redis down')) },
    };
    expect(await run(failing)).toBe(WAITING);
  });

  it('waits without enqueueing on a child an earlier attempt started', async () => {
    const { deps, enqueued } = fakeDeps({ kind: 'live', childId: 'c1' });
    expect(await run(deps)).toBe(WAITING);
    expect(enqueued).toEqual([]);
  });

  it("outputs a succeeded child's output and costs nothing itself", async () => {
    const child = { id: 'c1', status: 'success', output: { x: 1 }, error: null, cost: '0.5' };
    const { deps } = fakeDeps({ kind: 'terminal', child } as ChildStart);
    const result = settled(await run(deps));
    expect(result).toMatchObject({ status: 'success', output: { x: 1 }, cost: '0.00000000' });
    expect(result.logs[0]?.data).toMatchObject({ child_execution_id: 'c1', child_cost: '0.5' });
  });

  it("fails with a failed child's error type, naming the child", async () => {
    const error = { type: 'TIMEOUT', message: 'too slow' } as const;
    const child = { id: 'c1', status: 'failed', output: null, error, cost: '0' };
    const { deps } = fakeDeps({ kind: 'terminal', child } as ChildStart);
    expect(settled(await run(deps)).error).toEqual({
      type: 'TIMEOUT',
      message: 'child execution c1 failed: too slow',
      cause: error,
    });
  });

  it('fails with CANCELLATION when the child was cancelled', async () => {
    const child = { id: 'c1', status: 'cancelled', output: null, error: null, cost: '0' };
    const { deps } = fakeDeps({ kind: 'terminal', child } as ChildStart);
    expect(settled(await run(deps)).error).toEqual({
      type: 'CANCELLATION',
      message: 'child execution c1 was cancelled',
    });
  });

  it('fails with the VALIDATION error of a refused start', async () => {
    const error = { type: 'VALIDATION', message: 'no workflow x in this tenant' } as const;
    const { deps } = fakeDeps({ kind: 'refused', error });
    expect(settled(await run(deps))).toMatchObject({ status: 'failed', error });
  });

  it('fails with VALIDATION when workflow_id does not render to an id', async () => {
    const { deps, starts } = fakeDeps({ kind: 'live', childId: 'never' });
    const result = settled(await run(deps, { wf: 42 }));
    expect(result.error).toEqual({
      type: 'VALIDATION',
      message: 'workflow_id did not render to a workflow id',
    });
    expect(starts).toEqual([]);
  });

  it('fails with VALIDATION, starting no child, on a workflow_id or input Postgres cannot store', async () => {
    // A NUL in either made the start's SQL throw: the parent's job retried into the DLQ.
    const { deps, starts } = fakeDeps({ kind: 'live', childId: 'never' });
    for (const input of [
      { wf: 'child\u0000', n: 1 },
      { wf: 'child-wf', n: 'a\u0000b' },
      { wf: 'child-wf', n: '\ud800' },
    ]) {
      const result = settled(await run(deps, input));
      expect(result).toMatchObject({ status: 'failed', error: { type: 'VALIDATION' } });
    }
    expect(starts).toEqual([]);
  });

  it('fails with EXPRESSION when a template fails to evaluate', async () => {
    const { deps } = fakeDeps({ kind: 'live', childId: 'never' });
    const broken = compileTestWorkflow(
      {
        name: 'p',
        nodes: [{ id: 'call', type: 'subworkflow', config: { workflow_id: '{{ $error("no") }}' } }],
      },
      registry,
    ).nodes.get('call');
    if (!broken) throw new TypeError('no node');
    const failed = settled(
      await runSubworkflow(deps, broken, {
        input: context({}),
        signal: new AbortController().signal,
      }),
    );
    expect(failed.error?.type).toBe('EXPRESSION');
  });
});

describe('runDag with a waiting subworkflow node', () => {
  it('ends `waiting` once the other branch settled, with the node still running', async () => {
    //   call (subworkflow, waits)     side (transform)
    const workflow = compileTestWorkflow(
      {
        name: 'w',
        nodes: [
          { id: 'call', type: 'subworkflow', config: { workflow_id: 'x' } },
          { id: 'side', type: 'transform', config: { expression: '1' } },
        ],
      },
      registry,
    );
    const settledIds: string[] = [];
    const outcome = await withNodeDeps(registry, { maxOutputBytes: 1024 }, (deps) =>
      runDag(
        deps,
        dagRequest(workflow, {
          runSubworkflow: () => Promise.resolve(WAITING),
          onSettled: (id) => {
            settledIds.push(id);
            return Promise.resolve();
          },
        }),
      ),
    );
    expect(outcome).toEqual({ status: 'waiting', nodeIds: ['call'] });
    expect(settledIds).toEqual(['side']);
  });

  it('cancels a waiting node when another node fails with fail_fast', async () => {
    //   call (subworkflow, waits)     bad (transform, fails)
    const workflow = compileTestWorkflow(
      {
        name: 'w',
        nodes: [
          { id: 'call', type: 'subworkflow', config: { workflow_id: 'x' } },
          { id: 'bad', type: 'transform', config: { expression: '$error("boom")' } },
        ],
      },
      registry,
    );
    const statuses = new Map<string, string>();
    const outcome = await withNodeDeps(registry, { maxOutputBytes: 1024 }, (deps) =>
      runDag(
        deps,
        dagRequest(workflow, {
          runSubworkflow: () => Promise.resolve(WAITING),
          onSettled: (id, result) => {
            statuses.set(id, result.status);
            return Promise.resolve();
          },
        }),
      ),
    );
    expect(outcome.status).toBe('failed');
    expect(Object.fromEntries(statuses)).toEqual({ bad: 'failed', call: 'cancelled' });
  });
});
