import type { Static } from '@sinclair/typebox';
import type { ExecutionFamily } from '@linkflow/store';
import type { ExecutionView } from './execution-schemas.ts';

type View = Static<typeof ExecutionView>;

/**
 * Adds an execution's subworkflow links to its view: its parent (and the parent's node),
 * its depth, its children, and on each subworkflow node run the child it started (its output
 * is the child's output once it ended, so the id is joined here rather than kept in it).
 */
export function withFamily(view: View, family: ExecutionFamily | undefined): View {
  if (!family) return view;
  // Children come oldest first and a later entry replaces an earlier one: a node rerun by a
  // recover shows its current (newest) child; the superseded ones stay in child_executions.
  const childOf = new Map(family.children.map((c) => [c.nodeId, c.executionId]));
  return {
    ...view,
    node_runs: view.node_runs.map((run) => {
      const child = childOf.get(run.node_id);
      return child === undefined ? run : { ...run, child_execution_id: child };
    }),
    parent_execution_id: family.parentExecutionId,
    parent_node_id: family.parentNodeId,
    depth: family.depth,
    child_executions: family.children.map((c) => ({
      node_id: c.nodeId,
      execution_id: c.executionId,
      status: c.status,
    })),
  };
}
