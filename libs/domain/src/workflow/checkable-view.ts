import {
  MAX_EDGES,
  MAX_NODES,
  type EdgeSpec,
  type NodeSpec,
  type WorkflowDefinition,
} from './definition-schema.ts';

/**
 * What the checks after the JSON schema can still read of a definition the schema rejected,
 * so one answer names every problem (a missing config does not hide a cycle or an unknown
 * type elsewhere).
 */
export interface CheckableView {
  /**
   * The definition, indices unchanged; a node without a config object takes part with `{}`,
   * one without a type with `''`.
   */
  readonly def: WorkflowDefinition;
  /** The nodes without a config object or a type: their config is not checked further. */
  readonly broken: ReadonlySet<number>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Longest node id the schema allows: longer ones would swell every message that names them. */
const MAX_ID_LENGTH = 64;

const readableNode = (n: unknown): n is NodeSpec =>
  isRecord(n) && typeof n['id'] === 'string' && n['id'].length <= MAX_ID_LENGTH;

const isBroken = (n: NodeSpec): boolean => !isRecord(n.config) || typeof n.type !== 'string';

const readableEdge = (e: unknown): e is EdgeSpec =>
  isRecord(e) &&
  typeof e['from'] === 'string' &&
  typeof e['to'] === 'string' &&
  (e['when'] === undefined || typeof e['when'] === 'string' || typeof e['when'] === 'boolean');

/**
 * The view of `input` the later checks can run on whatever else the schema rejected, or
 * undefined when they cannot: the body is not an object, `nodes` or `edges` is not an array,
 * a node's id is not a string (or longer than the schema allows), or an edge's ends are not
 * strings (then the schema's problems are the whole answer).
 */
export function checkableView(input: unknown): CheckableView | undefined {
  if (!isRecord(input)) return undefined;
  const { nodes, edges } = input;
  if (!Array.isArray(nodes) || !nodes.every(readableNode)) return undefined;
  if (edges !== undefined && !(Array.isArray(edges) && edges.every(readableEdge))) return undefined;
  // Past the schema's sizes the later checks would only add cost (some grow with the square
  // of the nodes): the schema's problems are the answer.
  if (nodes.length > MAX_NODES || (edges?.length ?? 0) > MAX_EDGES) return undefined;
  const broken = new Set(nodes.flatMap((n, i) => (isBroken(n) ? [i] : [])));
  const viewNodes = nodes.map((n, i) =>
    broken.has(i) ? { id: n.id, type: typeof n.type === 'string' ? n.type : '', config: {} } : n,
  );
  const def = { name: '', nodes: viewNodes, ...(edges === undefined ? {} : { edges }) };
  return { def, broken };
}
