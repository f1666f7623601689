import { mayUseConnection } from '../config/db-connections.ts';
import type { FieldProblem } from '../errors/app-error.ts';
import type { NodeTypeCatalog, NodeTypeSpec } from '../workflow/node-type-catalog.ts';

const requireString = (config: Readonly<Record<string, unknown>>, key: string): FieldProblem[] =>
  typeof config[key] === 'string' ? [] : [{ path: `/config/${key}`, message: `must be a string` }];

const expressionNode: NodeTypeSpec = {
  rawFields: ['expression'],
  checkConfig: (c) => requireString(c, 'expression'),
  expressionsOf: (c) => [{ path: '/config/expression', expression: String(c['expression']) }],
};

/** A catalog fake for domain tests: the built-in type names with tiny config rules. */
export function fakeCatalog(): NodeTypeCatalog {
  const specs: Record<string, NodeTypeSpec> = {
    http: {
      rawFields: [],
      secretFields: ['url', 'headers', 'query', 'body'],
      checkConfig: (c) => requireString(c, 'url'),
    },
    db: {
      rawFields: ['query'],
      secretFields: ['params'],
      checkConfig: (c) =>
        String(c['query']).includes('{{')
          ? [{ path: '/config/query', message: 'templates are not allowed in SQL' }]
          : [],
      // Connection `acme` is reserved for the tenant named acme; any other name is open.
      checkAccess: (c, tenant) =>
        c['connection'] === 'acme' &&
        !mayUseConnection({ url: 'postgresql://x', tenants: ['acme'] }, tenant)
          ? [{ path: '/config/connection', message: 'not allowed for this tenant' }]
          : [],
    },
    transform: expressionNode,
    condition: expressionNode,
    code: { rawFields: ['source'], checkConfig: (c) => requireString(c, 'source') },
    router: { rawFields: ['routes'], checkConfig: () => [] },
    return: { rawFields: [], checkConfig: () => [] },
    try: { rawFields: ['try', 'catch', 'finally'], checkConfig: () => [] },
    foreach: {
      rawFields: ['items', 'body'],
      checkConfig: (c) =>
        c['items'] === undefined ? [{ path: '/config/items', message: 'is required' }] : [],
    },
  };
  return { get: (type) => specs[type], types: () => Object.keys(specs) };
}
