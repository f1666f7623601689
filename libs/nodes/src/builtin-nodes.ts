import type { DbConnectionConfig, TenantRef } from '@linkflow/domain';
import { createCodeNode } from './code/index.ts';
import {
  createForeachNode,
  createReturnNode,
  createRouterNode,
  createTryNode,
} from './control/control-nodes.ts';
import { createDbNode } from './db/index.ts';
import { createConditionNode, createTransformNode } from './expression/expression-nodes.ts';
import { ExpressionCache } from './expression/expression-cache.ts';
import { createHttpNode } from './http/index.ts';
import type { NodeDefinition } from './node-definition.ts';
import { createNodeRegistry, type NodeRegistry } from './node-registry.ts';
import { createSubworkflowNode } from './subworkflow/subworkflow-node.ts';

/** Server-side settings the built-in node types need (from the app's config). */
export interface BuiltinNodeOptions {
  readonly enabled?: readonly string[] | undefined;
  readonly httpAllow: readonly string[];
  /** LINKFLOW_DB_CONNECTIONS: name → URL (every tenant) or `{url, tenants}`. */
  readonly dbConnections: Readonly<Record<string, string | DbConnectionConfig>>;
  /** LINKFLOW_DB_ALLOW_PRIVILEGED: let db nodes use privileged roles (default false). */
  readonly dbAllowPrivileged?: boolean;
  /** Resolves a tenant id to its name, for connections whose `tenants` list names them. */
  readonly tenantRef?: (tenantId: string) => Promise<TenantRef>;
  /** Worker threads for the code sandbox; 0 in processes that only validate (the API). */
  readonly codePoolSize: number;
  /** Code sandboxes one tenant may hold at once (default: half the pool, at least 1). */
  readonly codeMaxPerTenant?: number | undefined;
  readonly maxOutputBytes?: number;
}

/**
 * The registry of the built-in node types (control flow included), built from an explicit list. Clients
 * (pools, dispatchers, workers) are created lazily, so the API can build it just to
 * validate workflows.
 */
export function createBuiltinRegistry(options: BuiltinNodeOptions): NodeRegistry {
  const cache = new ExpressionCache();
  const maxBytes = options.maxOutputBytes ?? 10 * 1024 * 1024;
  const definitions = [
    createHttpNode({
      allow: options.httpAllow,
      maxResponseBytes: maxBytes,
      defaultTimeoutMs: 30_000,
    }),
    createDbNode({
      connections: options.dbConnections,
      maxRows: 10_000,
      maxBytes,
      defaultTimeoutMs: 30_000,
      allowPrivileged: options.dbAllowPrivileged ?? false,
      ...(options.tenantRef ? { tenantRef: options.tenantRef } : {}),
    }),
    createTransformNode(cache),
    createConditionNode(cache),
    createCodeNode({
      poolSize: Math.max(options.codePoolSize, 1),
      defaultTimeoutMs: 5_000,
      defaultMemoryMb: 64,
      maxMemoryMb: 512,
      maxTimeoutMs: 300_000,
      maxOutputBytes: maxBytes,
      ...(options.codeMaxPerTenant === undefined ? {} : { maxPerTenant: options.codeMaxPerTenant }),
    }),
    createSubworkflowNode(),
    createRouterNode(cache),
    createReturnNode(),
    createTryNode(),
    createForeachNode(cache),
  ] as NodeDefinition<never>[];
  return createNodeRegistry(definitions, options.enabled);
}
