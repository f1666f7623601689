import type { FieldProblem } from '../errors/app-error.ts';
import type { WorkflowDefinition } from './definition-schema.ts';

/**
 * Deepest nesting of subworkflow executions: a top-level execution has depth 0, its child 1;
 * a child that would have depth 6 is refused (VALIDATION).
 */
export const MAX_SUBWORKFLOW_DEPTH = 5;

/**
 * Most executions one family may hold (a top-level execution and all its descendants): depth
 * alone would let 1,000 subworkflow nodes per workflow start 1000^5 executions from one
 * request. A child that would pass it is refused (VALIDATION). Children started at the same
 * moment in different branches of one family may overshoot it by a few: each start counts
 * under its own parent's lock.
 */
export const MAX_SUBWORKFLOW_FAMILY = 1000;

/** The node type that starts a child execution. */
export const SUBWORKFLOW_NODE_TYPE = 'subworkflow';

/** A `subworkflow` node's target as written in a definition. */
export interface SubworkflowRef {
  /** Index of the node in `nodes` (for problem paths). */
  readonly index: number;
  readonly nodeId: string;
  /** The target workflow id; undefined when it is a template (known only at run time). */
  readonly workflowId: string | undefined;
  /** The pinned version; undefined for the latest. */
  readonly version: number | undefined;
}

/** True when a config string holds a `{{ }}` template (its value is known only at run time). */
function isTemplate(value: string): boolean {
  return value.includes('{{');
}

/**
 * The `subworkflow` nodes of a definition and their targets. A `workflow_id` that is a
 * template is reported with `workflowId: undefined` (dynamic: checked when the node runs).
 */
export function subworkflowRefs(def: WorkflowDefinition): SubworkflowRef[] {
  const refs: SubworkflowRef[] = [];
  def.nodes.forEach((node, index) => {
    if (node.type !== SUBWORKFLOW_NODE_TYPE) return;
    const id = node.config['workflow_id'];
    const version = node.config['version'];
    refs.push({
      index,
      nodeId: node.id,
      workflowId: typeof id === 'string' && !isTemplate(id) ? id : undefined,
      version: typeof version === 'number' ? version : undefined,
    });
  });
  return refs;
}

/** What {@link subworkflowProblems} knows of the tenant's workflows. */
export interface SubworkflowGraph {
  /**
   * The definition a reference starts (its pinned version, else the latest), or undefined
   * when the tenant has no such workflow (unknown, deleted or another tenant's).
   */
  lookup(workflowId: string, version: number | undefined): WorkflowDefinition | undefined;
}

const pathOf = (ref: SubworkflowRef) => `/nodes/${ref.index}/config/workflow_id`;

/**
 * The longest chain of static subworkflow references below `def` (0 when it calls none),
 * or the chain of ids that leads back to `selfId` / loops. Stops past the depth limit.
 */
function deepest(
  graph: SubworkflowGraph,
  def: WorkflowDefinition,
  path: readonly string[],
): { depth: number; loop?: readonly string[] } {
  // Deep enough to be refused already: no need to walk further (and no unbounded walk).
  if (path.length > MAX_SUBWORKFLOW_DEPTH + 1) return { depth: 0 };
  let depth = 0;
  for (const ref of subworkflowRefs(def)) {
    if (ref.workflowId === undefined) continue;
    const chain = [...path, ref.workflowId];
    if (path.includes(ref.workflowId)) return { depth: Infinity, loop: chain };
    const target = graph.lookup(ref.workflowId, ref.version);
    if (target === undefined) continue;
    const below = deepest(graph, target, chain);
    if (below.loop) return below;
    depth = Math.max(depth, below.depth + 1);
  }
  return { depth };
}

/**
 * Static checks of a definition's `subworkflow` nodes (every problem, with its path): a
 * target the tenant does not have, the workflow itself (`selfId`, known when storing a new
 * version), a loop through other workflows' latest versions, and nesting deeper than
 * {@link MAX_SUBWORKFLOW_DEPTH} along static references. Templated targets are checked when
 * they run.
 */
export function subworkflowProblems(
  def: WorkflowDefinition,
  graph: SubworkflowGraph,
  selfId?: string,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const root = selfId ?? '';
  for (const ref of subworkflowRefs(def)) {
    const id = ref.workflowId;
    if (id === undefined) continue;
    if (id === selfId) {
      problems.push({ path: pathOf(ref), message: 'a workflow may not call itself' });
      continue;
    }
    const target = graph.lookup(id, ref.version);
    if (target === undefined) {
      const which = ref.version === undefined ? '' : ` version ${ref.version}`;
      problems.push({ path: pathOf(ref), message: `no workflow ${id}${which} in this tenant` });
      continue;
    }
    const below = deepest(graph, target, [root, id]);
    if (below.loop) {
      const chain = below.loop.map((w) => (w === '' ? '(this workflow)' : w)).join(' -> ');
      problems.push({ path: pathOf(ref), message: `workflow calls itself: ${chain}` });
    } else if (below.depth + 1 > MAX_SUBWORKFLOW_DEPTH) {
      problems.push({
        path: pathOf(ref),
        message: `subworkflows nest ${below.depth + 1} levels deep (max ${MAX_SUBWORKFLOW_DEPTH})`,
      });
    }
  }
  return problems;
}
