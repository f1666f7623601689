/** The `http` node: SSRF-guarded HTTP(S) requests over undici. */
export { createHttpNode, type HttpNodeOptions, type HttpOutput } from './http-node.ts';
export { HttpConfigSchema, HTTP_METHODS, type HttpConfig, type HttpMethod } from './http-config.ts';
export type { HostLookup, LookupAddress } from './guarded-lookup.ts';
