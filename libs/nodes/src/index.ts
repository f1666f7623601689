export * from './node-definition.ts';
export * from './node-errors.ts';
export * from './shared-signal.ts';
export * from './http/unicode-host.ts';
export * from './node-registry.ts';
export * from './builtin-nodes.ts';
export * from './expression/expression-cache.ts';
export * from './expression/expression-nodes.ts';
export {
  auditDbConnections,
  checkDbConnectionsAtStartup,
  type ConnectionAudit,
  type DbStartupCheck,
} from './db/index.ts';
export * from './expression/expression-errors.ts';
export * from './expression/evaluation-limits.ts';
export * from './subworkflow/subworkflow-node.ts';
export * from './control/control-nodes.ts';
