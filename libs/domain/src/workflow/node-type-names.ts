/**
 * The built-in node types. The one list: `libs/nodes` implements each, config parsing
 * (`LINKFLOW_NODE_TYPES`) checks names against it.
 */
export const NODE_TYPE_NAMES = [
  'http',
  'db',
  'transform',
  'condition',
  'code',
  'subworkflow',
  'router',
  'return',
  'try',
  'foreach',
] as const;

/** The name of a built-in node type. */
export type NodeTypeName = (typeof NODE_TYPE_NAMES)[number];
