import type { FieldProblem } from '../errors/app-error.ts';
import { err, ok, type Result } from '../result.ts';
import type { EdgeSpec, NodeSpec } from './definition-schema.ts';

/**
 * An incoming edge as the planner sees it: `when` normalised to a string (`'true'`/`'false'`
 * from a condition, a route name from a router).
 */
export interface InEdge {
  readonly from: string;
  readonly when: string | undefined;
}

/** The workflow graph, built once per version. */
export interface Dag {
  /** Node ids in a topological order (parents before children; ties by definition order). */
  readonly order: readonly string[];
  readonly incoming: ReadonlyMap<string, readonly InEdge[]>;
  readonly outgoing: ReadonlyMap<string, readonly string[]>;
  /** Nodes with no outgoing edge: their outputs form the execution's output. */
  readonly sinks: readonly string[];
}

const normaliseWhen = (when: EdgeSpec['when']): string | undefined =>
  when === undefined ? undefined : String(when);

/** Kahn's algorithm; the nodes left over sit on or behind a cycle. */
function topoOrder(
  ids: readonly string[],
  incoming: Map<string, InEdge[]>,
  outgoing: Map<string, string[]>,
): string[] {
  const indegree = new Map(ids.map((id) => [id, incoming.get(id)?.length ?? 0]));
  const queue = ids.filter((id) => indegree.get(id) === 0);
  const order: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i] as string;
    order.push(id);
    for (const child of outgoing.get(id) ?? []) {
      const left = (indegree.get(child) ?? 0) - 1;
      indegree.set(child, left);
      if (left === 0) queue.push(child);
    }
  }
  return order;
}

/** Finds one cycle among `remaining` nodes by walking parents until a node repeats. */
function findCycle(remaining: ReadonlySet<string>, incoming: Map<string, InEdge[]>): string[] {
  const start = [...remaining][0] as string;
  const seen = new Map<string, number>();
  const path: string[] = [];
  let current = start;
  while (!seen.has(current)) {
    seen.set(current, path.length);
    path.push(current);
    const parent = (incoming.get(current) ?? []).find((e) => remaining.has(e.from));
    if (!parent) break;
    current = parent.from;
  }
  const cycle = path.slice(seen.get(current) ?? 0).reverse();
  return [...cycle, cycle[0] as string];
}

/**
 * Builds the DAG from validated nodes and edges (edge endpoints must exist). A cycle is
 * reported with the nodes in it, e.g. `cycle: a -> b -> a`.
 */
export function buildDag(
  nodes: readonly NodeSpec[],
  edges: readonly EdgeSpec[],
): Result<Dag, FieldProblem[]> {
  const ids = nodes.map((n) => n.id);
  const incoming = new Map<string, InEdge[]>(ids.map((id) => [id, []]));
  const outgoing = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const edge of edges) {
    incoming.get(edge.to)?.push({ from: edge.from, when: normaliseWhen(edge.when) });
    outgoing.get(edge.from)?.push(edge.to);
  }
  const order = topoOrder(ids, incoming, outgoing);
  if (order.length < ids.length) {
    const placed = new Set(order);
    const remaining = new Set(ids.filter((id) => !placed.has(id)));
    const cycle = findCycle(remaining, incoming);
    return err([{ path: '/edges', message: `cycle: ${cycle.join(' -> ')}` }]);
  }
  const sinks = ids.filter((id) => (outgoing.get(id)?.length ?? 0) === 0);
  return ok({ order, incoming, outgoing, sinks });
}
