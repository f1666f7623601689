import { describe, expect, it } from 'vitest';
import type { NodeTypeCatalog, WorkflowDefinition } from '@linkflow/domain';
import type { WorkflowRecord } from '@linkflow/store';
import { toProblem } from '../http/error-handler.ts';
import { storeRetryDefault } from './retry-routes.ts';
import type { WorkflowRouteDeps } from './workflow-routes.ts';

// The rebase loop alone; retry-routes.int.test.ts covers one rebase against Postgres.
const catalog: NodeTypeCatalog = {
  get: (type) => (type === 'noop' ? { rawFields: [], checkConfig: () => [] } : undefined),
  types: () => ['noop'],
};
const definition: WorkflowDefinition = {
  name: 'w',
  nodes: [{ id: 'a', type: 'noop', config: {} }],
};

function depsWhereEveryStoreIsStale(calls: { adds: number }): WorkflowRouteDeps {
  const record = { id: 'w1', tenantId: 't', name: 'w', version: 1, definition } as WorkflowRecord;
  const workflows = {
    get: () => Promise.resolve(record),
    addVersionOn: () => {
      calls.adds += 1;
      return Promise.resolve('stale' as const);
    },
  };
  return {
    workflows: workflows as unknown as WorkflowRouteDeps['workflows'],
    catalog,
    tenants: { ref: (id: string) => Promise.resolve({ id }) },
    credentials: { keysByName: () => Promise.resolve(new Map()) },
  };
}

describe('storeRetryDefault', () => {
  it('answers 409 WORKFLOW_CHANGING after three stale attempts', async () => {
    const calls = { adds: 0 };
    const deps = depsWhereEveryStoreIsStale(calls);
    // ACT
    const failure = await storeRetryDefault({
      deps,
      tenantId: 't',
      id: 'w1',
      spec: { max_attempts: 2 },
    }).catch((e: unknown) => e);
    // ASSERT
    expect(failure).toMatchObject({ code: 'WORKFLOW_CHANGING' });
    expect(toProblem(failure as Parameters<typeof toProblem>[0], 'r').status).toBe(409);
    expect(calls.adds).toBe(3);
  });
});
