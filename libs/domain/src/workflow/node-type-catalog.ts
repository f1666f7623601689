import type { FieldProblem } from '../errors/app-error.ts';

/** An expression inside a node config that the node evaluates itself (condition, transform). */
export interface EmbeddedExpression {
  readonly path: string;
  readonly expression: string;
}

/**
 * What the validator needs to know of a node type. `libs/nodes` provides it from its
 * registry; the domain only sees this port. Paths are relative to the node (`/config/url`).
 */
export interface NodeTypeSpec {
  readonly rawFields: readonly string[];
  checkConfig(config: Readonly<Record<string, unknown>>): readonly FieldProblem[];
  expressionsOf?(config: Readonly<Record<string, unknown>>): readonly EmbeddedExpression[];
}

export interface NodeTypeCatalog {
  get(type: string): NodeTypeSpec | undefined;
  /** Enabled type names, for error messages and `GET /api/node-types`. */
  types(): readonly string[];
}
