/** Time and identity come into the domain as ports so it stays deterministic. */
export interface Clock {
  now(): Date;
}
export interface IdGen {
  next(): string;
}

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };
export type WorkflowId = Brand<string, 'WorkflowId'>;
export type ExecutionId = Brand<string, 'ExecutionId'>;
export type NodeId = Brand<string, 'NodeId'>;
export type TenantId = Brand<string, 'TenantId'>;
