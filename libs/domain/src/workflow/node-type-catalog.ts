import type { TenantRef } from '../config/db-connections.ts';
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
  /** Top-level config fields whose templates may reference `{{ secrets.<name>.<key> }}`. */
  readonly secretFields?: readonly string[];
  checkConfig(config: Readonly<Record<string, unknown>>): readonly FieldProblem[];
  expressionsOf?(config: Readonly<Record<string, unknown>>): readonly EmbeddedExpression[];
  /**
   * Rules that depend on who runs the workflow (e.g. a db connection's allowed tenants). It may
   * see a config that failed `checkConfig`: it reports access problems only, never those again.
   */
  checkAccess?(
    config: Readonly<Record<string, unknown>>,
    tenant: TenantRef,
  ): readonly FieldProblem[];
}

export interface NodeTypeCatalog {
  get(type: string): NodeTypeSpec | undefined;
  /** Enabled type names, for error messages and `GET /api/node-types`. */
  types(): readonly string[];
}
