import type { FieldProblem } from '../errors/app-error.ts';
import type { NodeSpec, WorkflowDefinition } from './definition-schema.ts';

/**
 * Scope node types and the config lists naming their members. A member is run by its scope
 * node, never by the DAG the scope node sits in.
 */
export const SCOPE_LISTS = {
  foreach: ['body'],
  try: ['try', 'catch', 'finally'],
} as const;

/** A list of a scope node: a foreach `body`, or a try's `try`, `catch` or `finally`. */
export type ScopeList = 'body' | 'try' | 'catch' | 'finally';

/** Where a member sits: its scope node and the list naming it. */
export interface Region {
  readonly scope: string;
  readonly list: ScopeList;
}

/** The key of a region (`scope/list`), or `''` for the main DAG. */
export const regionKey = (region: Region | undefined): string =>
  region === undefined ? '' : `${region.scope}/${region.list}`;

/** True for the node types that own members (foreach, try). */
export function isScopeType(type: string): type is keyof typeof SCOPE_LISTS {
  return Object.hasOwn(SCOPE_LISTS, type);
}

/** The raw entries of one list of a scope node's config (whatever the client sent). */
function listEntries(node: NodeSpec, list: ScopeList): readonly unknown[] {
  const value = node.config[list];
  return Array.isArray(value) ? (value as unknown[]) : [];
}

/** The lists of a scope node, with the ids they name (non-strings dropped). */
export function scopeListsOf(node: NodeSpec): { list: ScopeList; ids: string[] }[] {
  if (!isScopeType(node.type)) return [];
  return SCOPE_LISTS[node.type].map((list) => ({
    list,
    ids: listEntries(node, list).filter((id): id is string => typeof id === 'string'),
  }));
}

/** Each member's region (first listing wins; validation reports the others). */
export function regionsOf(nodes: readonly NodeSpec[]): Map<string, Region> {
  const regions = new Map<string, Region>();
  for (const node of nodes) {
    for (const { list, ids } of scopeListsOf(node)) {
      for (const id of ids)
        if (id !== node.id && !regions.has(id)) regions.set(id, { scope: node.id, list });
    }
  }
  return regions;
}

/**
 * The chain of scope nodes around `id`, innermost first; stops at a repeat (a scope cycle).
 * Linear in the depth (a set tracks the repeats): validation walks it for every node.
 */
export function enclosingScopes(id: string, regions: ReadonlyMap<string, Region>): string[] {
  const chain: string[] = [];
  const seen = new Set<string>();
  let current = regions.get(id);
  while (current !== undefined && !seen.has(current.scope)) {
    chain.push(current.scope);
    seen.add(current.scope);
    current = regions.get(current.scope);
  }
  return chain;
}

function listProblems(def: WorkflowDefinition): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const ids = new Set(def.nodes.map((n) => n.id));
  const owner = new Map<string, string>();
  def.nodes.forEach((node, i) => {
    for (const { list } of scopeListsOf(node)) {
      listEntries(node, list).forEach((id, k) => {
        const path = `/nodes/${i}/config/${list}/${k}`;
        if (typeof id !== 'string') return;
        if (!ids.has(id)) problems.push({ path, message: `unknown node id '${id}'` });
        else if (id === node.id) problems.push({ path, message: `scope '${id}' contains itself` });
        else if (owner.has(id))
          problems.push({ path, message: `'${id}' is already in scope ${owner.get(id)}` });
        else owner.set(id, `${node.id}/${list}`);
      });
    }
  });
  return problems;
}

/** Scope ids a cycle message lists (a cycle may hold 1,000 scopes). */
const MAX_CYCLE_IDS = 10;

function cycleMessage(cycle: readonly string[]): string {
  const shown = cycle.slice(0, MAX_CYCLE_IDS).join(' -> ');
  const more = cycle.length - MAX_CYCLE_IDS;
  return `scope cycle: ${shown}${more > 0 ? ` -> … (${more} more)` : ''}`;
}

function nestingProblems(def: WorkflowDefinition, regions: Map<string, Region>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const types = new Map(def.nodes.map((n) => [n.id, n.type]));
  const inReportedCycle = new Set<string>();
  def.nodes.forEach((node, i) => {
    if (!isScopeType(node.type) || inReportedCycle.has(node.id)) return;
    const chain = enclosingScopes(node.id, regions);
    const at = chain.indexOf(node.id);
    if (at >= 0) {
      // Reported once, at its first member: every member would repeat the whole cycle.
      const cycle = [node.id, ...chain.slice(0, at + 1)];
      for (const id of cycle) inReportedCycle.add(id);
      problems.push({ path: `/nodes/${i}/config`, message: cycleMessage(cycle) });
      return;
    }
    const loop = chain.find((s) => types.get(s) === 'foreach');
    if (node.type === 'foreach' && loop !== undefined)
      problems.push({
        path: `/nodes/${i}`,
        message: `foreach '${node.id}' is inside the body of foreach '${loop}' (nested loops are not supported)`,
      });
  });
  return problems;
}

function edgeCrossings(def: WorkflowDefinition, regions: Map<string, Region>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  (def.edges ?? []).forEach((edge, j) => {
    const from = regionKey(regions.get(edge.from));
    const to = regionKey(regions.get(edge.to));
    if (from === to) return;
    const inside = to === '' ? 'outside any scope' : `in ${to}`;
    problems.push({
      path: `/edges/${j}`,
      message: `edge ${edge.from} -> ${edge.to} crosses a scope border (${edge.from} is ${from === '' ? 'outside any scope' : `in ${from}`}, ${edge.to} is ${inside})`,
    });
  });
  return problems;
}

/** Most node runs one foreach may create: `max_items` × the nodes its body encloses. */
export const MAX_FOREACH_NODE_RUNS = 100_000;
/** The default (and ceiling) of a foreach's `max_items`. */
const DEFAULT_MAX_ITEMS = 10_000;

/**
 * Each iteration runs every node the body encloses (nested try lists too), each a node run
 * stored and shown by `GET /api/executions/:id`: a 10,000-item loop over a 1,000-node body
 * would make 10 million of them for one execution.
 */
function loopSizeProblems(def: WorkflowDefinition, regions: Map<string, Region>): FieldProblem[] {
  // How many nodes each scope encloses, counted in one walk per node (not per loop and node).
  const enclosedBy = new Map<string, number>();
  for (const n of def.nodes)
    for (const scope of enclosingScopes(n.id, regions))
      enclosedBy.set(scope, (enclosedBy.get(scope) ?? 0) + 1);
  const problems: FieldProblem[] = [];
  def.nodes.forEach((node, i) => {
    if (node.type !== 'foreach') return;
    const enclosed = enclosedBy.get(node.id) ?? 0;
    const raw = node.config['max_items'];
    const maxItems = typeof raw === 'number' ? raw : DEFAULT_MAX_ITEMS;
    const runs = maxItems * enclosed;
    if (runs > MAX_FOREACH_NODE_RUNS)
      problems.push({
        path: `/nodes/${i}/config/max_items`,
        message: `foreach '${node.id}' may run ${maxItems} items × ${enclosed} body nodes = ${runs} node runs (max ${MAX_FOREACH_NODE_RUNS}): lower max_items or the body`,
      });
  });
  return problems;
}

/**
 * A subworkflow node parks its execution while its child runs, and a scope's iterations and
 * lists run inside one process: it may sit in the main DAG only.
 */
function parkingMembers(def: WorkflowDefinition, regions: Map<string, Region>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  def.nodes.forEach((node, i) => {
    const region = regions.get(node.id);
    if (node.type !== 'subworkflow' || region === undefined) return;
    problems.push({
      path: `/nodes/${i}`,
      message: `subworkflow '${node.id}' is in ${region.scope}/${region.list}: subworkflow nodes run in the main DAG only, not inside a foreach body or try lists`,
    });
  });
  return problems;
}

/**
 * Names every scope problem: list entries naming unknown ids, a node in two scopes, a scope
 * that contains itself or sits in a cycle of scopes, a foreach inside a foreach body, a
 * subworkflow node inside a scope, a foreach that may make more than
 * {@link MAX_FOREACH_NODE_RUNS} node runs, and edges crossing a scope's border (an edge joins two
 * nodes of the same region; a scope node belongs to the region around it, so edges into it
 * come from outside).
 */
export function scopeProblems(def: WorkflowDefinition): FieldProblem[] {
  const listed = listProblems(def);
  const regions = regionsOf(def.nodes);
  return [
    ...listed,
    ...nestingProblems(def, regions),
    ...parkingMembers(def, regions),
    ...loopSizeProblems(def, regions),
    ...edgeCrossings(def, regions),
  ];
}
