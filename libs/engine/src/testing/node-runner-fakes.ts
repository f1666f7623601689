import { compileWorkflow, type CompiledWorkflow, type WorkflowDefinition } from '@linkflow/domain';
import { Type } from '@sinclair/typebox';
import type { NodeDefinition, NodeRegistry } from '@linkflow/nodes';
import { BreakerRegistry } from '../breakers/breaker-registry.ts';
import type { DagRunRequest } from '../run/dag-runner.ts';
import { runNode, type NodeRunnerDeps, type NodeRunResult } from '../run/node-runner.ts';
import { Semaphore } from '../run/semaphore.ts';

/**
 * A node type for tests: named `type` (a real type's name, so workflows using it validate),
 * with an empty config and the given `execute`.
 */
export function fakeNodeType(
  type: NodeDefinition<never>['type'],
  execute: NodeDefinition<never>['execute'],
): NodeDefinition<never> {
  return { type, version: 1, configSchema: Type.Object({}), rawFields: [], execute };
}

/** `definition` compiled against `registry`; throws (with the problems) when it does not compile. */
export function compileTestWorkflow(
  definition: WorkflowDefinition,
  registry: NodeRegistry,
): CompiledWorkflow {
  const compiled = compileWorkflow(definition, registry);
  if (!compiled.ok) throw new TypeError(`bad test workflow: ${JSON.stringify(compiled.error)}`);
  return compiled.value;
}

/** The runner deps a test varies; the rest are fixed (real clock, `random` 0.5). */
export interface FakeNodeDepsOptions {
  readonly maxOutputBytes: number;
  /** Node slots; 1 unless given. */
  readonly slots?: number;
  readonly maxRetainedOutputBytes?: number;
}

/**
 * Runs `use` with node runner deps over `registry` and fresh breakers, and shuts the
 * breakers down afterwards (also when `use` throws).
 */
export async function withNodeDeps<T>(
  registry: NodeRegistry,
  options: FakeNodeDepsOptions,
  use: (deps: NodeRunnerDeps) => Promise<T>,
): Promise<T> {
  const breakers = new BreakerRegistry();
  try {
    return await use({
      registry,
      breakers,
      slots: new Semaphore(options.slots ?? 1),
      clock: { now: () => new Date() },
      random: () => 0.5,
      maxOutputBytes: options.maxOutputBytes,
      ...(options.maxRetainedOutputBytes === undefined
        ? {}
        : { maxRetainedOutputBytes: options.maxRetainedOutputBytes }),
    });
  } finally {
    breakers.shutdown();
  }
}

/**
 * Compiles `definition` (whose only or chosen node is `nodeId`) and runs that node once, as
 * the first attempt of execution `e` of workflow `w`, tenant `t`, with no input.
 */
export function runTestNode(
  registry: NodeRegistry,
  definition: WorkflowDefinition,
  nodeId: string,
  options: FakeNodeDepsOptions,
): Promise<NodeRunResult> {
  const node = compileTestWorkflow(definition, registry).nodes.get(nodeId);
  if (node === undefined) throw new TypeError(`no node ${nodeId} in the test workflow`);
  return withNodeDeps(registry, options, (deps) =>
    runNode(deps, node, {
      input: { input: {}, nodes: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
      signal: new AbortController().signal,
      tenantId: 't',
    }),
  );
}

/**
 * A {@link DagRunRequest} for `workflow` from scratch (no states), execution `e` of workflow
 * `w`, tenant `t1`, never aborted, ignoring starts and settling at once; `overrides` win.
 */
export function dagRequest(
  workflow: CompiledWorkflow,
  overrides: Partial<DagRunRequest> = {},
): DagRunRequest {
  return {
    workflow,
    states: new Map(),
    context: { input: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
    tenantId: 't1',
    signal: new AbortController().signal,
    onStarted: () => undefined,
    onSettled: () => Promise.resolve(),
    ...overrides,
  };
}

/**
 * A loop with a return inside (two lanes): `each` over `items` (an expression), body
 * `check` → `stop` (a return, when the item is "stop") | `work` (of type `workType`).
 */
export function returnInLoop(items: string, workType: 'code' | 'http'): WorkflowDefinition {
  return {
    name: 'return-in-loop',
    nodes: [
      {
        id: 'each',
        type: 'foreach',
        config: { items, body: ['check', 'stop', 'work'], parallel: true, max_parallel: 2 },
      },
      { id: 'check', type: 'condition', config: { expression: "item = 'stop'" } },
      { id: 'stop', type: 'return', config: { value: 'stopped' } },
      { id: 'work', type: workType, config: {} },
    ],
    edges: [
      { from: 'check', to: 'stop', when: 'true' },
      { from: 'check', to: 'work', when: 'false' },
    ],
  };
}
