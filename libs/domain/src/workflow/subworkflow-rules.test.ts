import { describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from './definition-schema.ts';
import {
  MAX_SUBWORKFLOW_DEPTH,
  subworkflowProblems,
  subworkflowRefs,
  type SubworkflowGraph,
} from './subworkflow-rules.ts';

const calling = (...targets: string[]): WorkflowDefinition => ({
  name: 'w',
  nodes: [
    { id: 'first', type: 'transform', config: { expression: '1' } },
    ...targets.map((t, i) => ({ id: `sub${i}`, type: 'subworkflow', config: { workflow_id: t } })),
  ],
});

function graphOf(defs: Record<string, WorkflowDefinition>): SubworkflowGraph {
  return { lookup: (id) => defs[id] };
}

/** w0 -> w1 -> ... -> w<n> (w<n> calls nothing). */
function chain(n: number): Record<string, WorkflowDefinition> {
  const defs: Record<string, WorkflowDefinition> = {};
  for (let i = 0; i < n; i++) defs[`w${i}`] = calling(`w${i + 1}`);
  defs[`w${n}`] = calling();
  return defs;
}

describe('subworkflowRefs', () => {
  it('reports static targets and leaves templated ones for run time', () => {
    const def: WorkflowDefinition = {
      name: 'w',
      nodes: [
        { id: 'a', type: 'subworkflow', config: { workflow_id: 'x', version: 2 } },
        { id: 'b', type: 'subworkflow', config: { workflow_id: '{{ input.wf }}' } },
      ],
    };
    expect(subworkflowRefs(def)).toEqual([
      { index: 0, nodeId: 'a', workflowId: 'x', version: 2 },
      { index: 1, nodeId: 'b', workflowId: undefined, version: undefined },
    ]);
  });
});

describe('subworkflowProblems', () => {
  it('accepts a chain exactly as deep as the limit', () => {
    // new -> w0 -> w1 -> w2 -> w3 -> w4: the deepest child runs at depth 5
    const defs = chain(MAX_SUBWORKFLOW_DEPTH - 1);
    expect(subworkflowProblems(calling('w0'), graphOf(defs))).toEqual([]);
  });

  it('refuses a chain one level deeper than the limit', () => {
    const defs = chain(MAX_SUBWORKFLOW_DEPTH);
    expect(subworkflowProblems(calling('w0'), graphOf(defs))).toEqual([
      { path: '/nodes/1/config/workflow_id', message: 'subworkflows nest 6 levels deep (max 5)' },
    ]);
  });

  it('refuses an unknown target and names its version', () => {
    const def: WorkflowDefinition = {
      name: 'w',
      nodes: [{ id: 'a', type: 'subworkflow', config: { workflow_id: 'nope', version: 3 } }],
    };
    expect(subworkflowProblems(def, graphOf({}))).toEqual([
      { path: '/nodes/0/config/workflow_id', message: 'no workflow nope version 3 in this tenant' },
    ]);
  });

  it('refuses the workflow calling itself directly', () => {
    expect(subworkflowProblems(calling('me'), graphOf({}), 'me')).toEqual([
      { path: '/nodes/1/config/workflow_id', message: 'a workflow may not call itself' },
    ]);
  });

  it('refuses a loop back to the workflow through another one', () => {
    expect(subworkflowProblems(calling('b'), graphOf({ b: calling('me') }), 'me')).toEqual([
      {
        path: '/nodes/1/config/workflow_id',
        message: 'workflow calls itself: me -> b -> me',
      },
    ]);
  });

  it('refuses a loop among other workflows without walking for ever', () => {
    const defs = { a: calling('b'), b: calling('a') };
    expect(subworkflowProblems(calling('a'), graphOf(defs))).toEqual([
      {
        path: '/nodes/1/config/workflow_id',
        message: 'workflow calls itself: (this workflow) -> a -> b -> a',
      },
    ]);
  });

  it('ignores templated targets', () => {
    expect(subworkflowProblems(calling('{{ input.x }}'), graphOf({}))).toEqual([]);
  });
});
