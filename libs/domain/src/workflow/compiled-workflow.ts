import type { FieldProblem } from '../errors/app-error.ts';
import {
  compileConfig,
  type CompiledConfig,
  type ConfigFields,
} from '../expressions/compiled-config.ts';
import { err, ok, type Result } from '../result.ts';
import { effectiveRetrySpec } from '../retry/retry-policy.ts';
import type { Dag } from './dag.ts';
import { buildScopedDags, type ScopedDags } from './scoped-dag.ts';
import {
  resolveSettings,
  type NodeSpec,
  type ResolvedSettings,
  type WorkflowDefinition,
} from './definition-schema.ts';
import type { NodeTypeCatalog, NodeTypeSpec } from './node-type-catalog.ts';

export interface CompiledNode {
  /** The node as defined, with `retry` filled from `settings.retry` when it has none. */
  readonly spec: NodeSpec;
  readonly config: CompiledConfig;
}

/** A workflow version ready to run: graph, settings and per-node compiled templates. */
export interface CompiledWorkflow {
  readonly definition: WorkflowDefinition;
  readonly settings: ResolvedSettings;
  /** The main DAG: nodes outside every scope (scope members run in their scope node). */
  readonly dag: Dag;
  /** The main DAG again, with one DAG per scope list (foreach body, try/catch/finally). */
  readonly scopes: ScopedDags;
  readonly nodes: ReadonlyMap<string, CompiledNode>;
}

/**
 * Compiles a stored (already validated) definition once per workflow version. It still
 * returns problems, because a type may have been disabled since the version was stored.
 */
export function compileWorkflow(
  definition: WorkflowDefinition,
  catalog: NodeTypeCatalog,
): Result<CompiledWorkflow, FieldProblem[]> {
  const scopes = buildScopedDags(definition.nodes, definition.edges ?? []);
  if (!scopes.ok) return scopes;
  const nodes = new Map<string, CompiledNode>();
  const problems: FieldProblem[] = [];
  definition.nodes.forEach((spec, i) => {
    const type = catalog.get(spec.type);
    if (!type) {
      problems.push({
        path: `/nodes/${i}/type`,
        message: `node type '${spec.type}' is not enabled`,
      });
      return;
    }
    const config = compileConfig(spec.config, configFieldsOf(type, spec.id), `/nodes/${i}/config`);
    if (!config.ok) problems.push(...config.error);
    else nodes.set(spec.id, { spec: withDefaultRetry(spec, definition), config: config.value });
  });
  if (problems.length > 0) return err(problems);
  const settings = resolveSettings(definition.settings);
  return ok({ definition, settings, dag: scopes.value.main, scopes: scopes.value, nodes });
}

/** How a node's config compiles: its type's raw and secret-capable fields. */
export function configFieldsOf(type: NodeTypeSpec, nodeId: string): ConfigFields {
  return {
    raw: type.rawFields,
    secrets: type.secretFields ?? [],
    owner: `node '${nodeId}'`,
  };
}

function withDefaultRetry(spec: NodeSpec, definition: WorkflowDefinition): NodeSpec {
  const retry = effectiveRetrySpec(spec, definition.settings);
  return retry === undefined || retry === spec.retry ? spec : { ...spec, retry };
}
