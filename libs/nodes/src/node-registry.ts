import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import {
  AppError,
  type FieldProblem,
  type NodeTypeCatalog,
  type NodeTypeSpec,
} from '@linkflow/domain';
import type { NodeDefinition, NodeHealth } from './node-definition.ts';

/** A registered node type with its compiled config checker. */
export interface RegisteredNode {
  readonly definition: NodeDefinition<Record<string, unknown>>;
  readonly check: TypeCheck<TSchema>;
}

/** `GET /api/node-types` entry. */
export interface NodeTypeInfo {
  readonly type: string;
  readonly version: number;
  readonly config_schema: TSchema;
}

export interface NodeRegistry extends NodeTypeCatalog {
  /** @throws AppError NODE_TYPE_DISABLED when the type is not enabled. */
  resolve(type: string, version?: number): NodeDefinition<Record<string, unknown>>;
  list(): readonly NodeTypeInfo[];
  health(): Promise<Record<string, NodeHealth>>;
  close(): Promise<void>;
}

function schemaProblems(check: TypeCheck<TSchema>, config: unknown): FieldProblem[] {
  const seen = new Map<string, string>();
  for (const e of check.Errors(config)) if (!seen.has(e.path)) seen.set(e.path, e.message);
  return [...seen].map(([path, message]) => ({ path: `/config${path}`, message }));
}

function toSpec(entry: RegisteredNode): NodeTypeSpec {
  const def = entry.definition;
  const spec: NodeTypeSpec = {
    rawFields: def.rawFields,
    ...(def.secretFields ? { secretFields: def.secretFields } : {}),
    checkConfig(config) {
      const problems = schemaProblems(entry.check, config);
      return problems.length > 0 ? problems : (def.checkConfig?.(config) ?? []);
    },
  };
  const expressionsOf = def.expressionsOf?.bind(def);
  const checkAccess = def.checkAccess?.bind(def);
  return {
    ...spec,
    ...(expressionsOf ? { expressionsOf: (c: Record<string, unknown>) => expressionsOf(c) } : {}),
    ...(checkAccess ? { checkAccess } : {}),
  };
}

/**
 * Builds the registry from an explicit list (no discovery), keyed `type@version`.
 * Duplicates fail at start-up. Only the latest version of each type is resolved by
 * default. `enabled` (LINKFLOW_NODE_TYPES) limits which types workflows may use.
 * @throws AppError DUPLICATE_NODE_TYPE
 */
export function createNodeRegistry(
  definitions: readonly NodeDefinition<never>[],
  enabled?: readonly string[],
): NodeRegistry {
  const byKey = new Map<string, RegisteredNode>();
  const latest = new Map<string, RegisteredNode>();
  for (const raw of definitions) {
    const definition = raw as unknown as NodeDefinition<Record<string, unknown>>;
    const key = `${definition.type}@${definition.version}`;
    if (byKey.has(key))
      throw new AppError('DUPLICATE_NODE_TYPE', `node type ${key} is registered twice`, {
        kind: 'internal',
      });
    const entry = { definition, check: TypeCompiler.Compile(definition.configSchema) };
    byKey.set(key, entry);
    if (enabled && !enabled.includes(definition.type)) continue;
    if ((latest.get(definition.type)?.definition.version ?? -1) < definition.version)
      latest.set(definition.type, entry);
  }
  const specs = new Map([...latest].map(([type, entry]) => [type, toSpec(entry)]));
  return {
    get: (type) => specs.get(type),
    types: () => [...latest.keys()],
    resolve(type, version) {
      const entry =
        version === undefined
          ? latest.get(type)
          : latest.has(type)
            ? byKey.get(`${type}@${version}`)
            : undefined;
      if (!entry)
        throw new AppError('NODE_TYPE_DISABLED', `node type '${type}' is not enabled`, {
          kind: 'user',
        });
      return entry.definition;
    },
    list: () =>
      [...latest.values()].map((e) => ({
        type: e.definition.type,
        version: e.definition.version,
        config_schema: e.definition.configSchema,
      })),
    async health() {
      const entries = await Promise.all(
        [...latest.values()].map(
          async (e) =>
            [e.definition.type, (await e.definition.health?.()) ?? { ok: true }] as const,
        ),
      );
      return Object.fromEntries(entries);
    },
    async close() {
      await Promise.all([...byKey.values()].map(async (e) => e.definition.close?.()));
    },
  };
}
