import type { FieldProblem } from '../errors/app-error.ts';
import { ok, type Result } from '../result.ts';
import { buildDag, type Dag } from './dag.ts';
import type { EdgeSpec, NodeSpec } from './definition-schema.ts';
import { regionKey, regionsOf, scopeListsOf, type Region } from './scopes.ts';

/** The workflow cut along its scopes: the main DAG, and one DAG per scope list. */
export interface ScopedDags {
  /** The nodes outside every scope (scope nodes included): what the execution runs. */
  readonly main: Dag;
  /** `scope/list` (e.g. `loop/body`, `guard/catch`) → the DAG of that list's members. */
  readonly regions: ReadonlyMap<string, Dag>;
  /** Each member's region; nodes of the main DAG have none. */
  readonly regionOf: ReadonlyMap<string, Region>;
}

/**
 * Builds the main DAG and one DAG per scope list from a validated definition (see
 * `scopeProblems`): a region holds its members and the edges among them. A cycle anywhere
 * is reported as `buildDag` does.
 */
export function buildScopedDags(
  nodes: readonly NodeSpec[],
  edges: readonly EdgeSpec[],
): Result<ScopedDags, FieldProblem[]> {
  const whole = buildDag(nodes, edges);
  if (!whole.ok) return whole;
  const regionOf = regionsOf(nodes);
  const keyOf = (id: string) => regionKey(regionOf.get(id));
  const grouped = new Map<string, NodeSpec[]>([['', []]]);
  for (const node of nodes) {
    for (const { list } of scopeListsOf(node)) grouped.set(`${node.id}/${list}`, []);
  }
  for (const node of nodes) grouped.get(keyOf(node.id))?.push(node);
  const dags = new Map<string, Dag>();
  for (const [key, members] of grouped) {
    const inside = edges.filter((e) => keyOf(e.from) === key && keyOf(e.to) === key);
    const dag = buildDag(members, inside);
    if (!dag.ok) return dag;
    dags.set(key, dag.value);
  }
  const main = dags.get('') as Dag;
  dags.delete('');
  return ok({ main, regions: dags, regionOf });
}
