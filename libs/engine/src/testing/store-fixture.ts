import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { WorkflowDefinition } from '@linkflow/domain';
import type { NodeRegistry } from '@linkflow/nodes';
import {
  createApiKeyRepository,
  createDb,
  createExecutionRepository,
  createLeaseStore,
  createRunStore,
  createWorkflowRepository,
  type Db,
} from '@linkflow/store';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { BreakerRegistry } from '../breakers/breaker-registry.ts';
import type { LeasePort } from '../ports.ts';
import type { ProcessorDeps } from '../run/execution-processor.ts';
import type { RunEvents } from '../run/run-events.ts';
import { RunTable } from '../run/run-handle.ts';
import { Semaphore } from '../run/semaphore.ts';
import { createRecordingLogger } from './recording-logger.ts';

/** What {@link StoreFixture.processorDeps} needs; the rest are the integration defaults. */
export interface ProcessorDepsOptions {
  readonly registry: NodeRegistry;
  readonly workerId: string;
  /** Lease length of the run and lease stores; 30 s unless given. */
  readonly leaseMs?: number;
  /** Node slots; 4 unless given. */
  readonly slots?: number;
  /** Live events; dropped unless given. */
  readonly events?: RunEvents;
}

/** The real store of an engine integration test file: its database, one tenant, its breakers. */
export interface StoreFixture {
  readonly db: Db;
  readonly tenantId: string;
  readonly ids: { next: () => string };
  readonly breakers: BreakerRegistry;
  /** Stores `definition` as a workflow of the tenant; its id. */
  createWorkflow(definition: WorkflowDefinition): Promise<string>;
  /** A new pending execution (version 1, normal priority, no input) of `workflowId`; its id. */
  createExecution(workflowId: string, timeoutSeconds?: number): Promise<string>;
  /** A new pending execution of a new workflow of `definition`; its id. */
  newExecution(definition: WorkflowDefinition, timeoutSeconds?: number): Promise<string>;
  /** Processor deps over the real run and lease stores, with a recording logger. */
  processorDeps(options: ProcessorDepsOptions): ProcessorDeps & { readonly leases: LeasePort };
}

/**
 * Opens the test database and a fresh tenant before the file's tests (`beforeAll`), and
 * closes both the breakers and the database after them (`afterAll`).
 */
export function useStoreFixture(options: { maxConnections: number }): StoreFixture {
  const ids = { next: () => randomUUID() };
  const breakers = new BreakerRegistry();
  let opened: { db: Db; tenantId: string } | undefined;
  const current = () => {
    if (opened === undefined) throw new TypeError('the store fixture is used before beforeAll');
    return opened;
  };

  beforeAll(async () => {
    const db = createDb({ url: testDatabaseUrl(), maxConnections: options.maxConnections });
    const tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
      `t-${randomUUID()}`,
    );
    opened = { db, tenantId };
  });
  afterAll(async () => {
    breakers.shutdown();
    await opened?.db.close();
  });

  const fixture: StoreFixture = {
    get db() {
      return current().db;
    },
    get tenantId() {
      return current().tenantId;
    },
    ids,
    breakers,
    async createWorkflow(definition) {
      const { db, tenantId } = current();
      const workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
      return (await workflows.create(tenantId, definition)).id;
    },
    async createExecution(workflowId, timeoutSeconds) {
      const { db, tenantId } = current();
      const created = await createExecutionRepository({ pool: db.pool }).create({
        id: ids.next(),
        tenantId,
        workflowId,
        workflowVersion: 1,
        priority: 'normal',
        inputData: {},
        timeoutSeconds,
        at: new Date(),
      });
      if (created.outcome !== 'created') throw new TypeError('execution not created');
      return created.execution.id;
    },
    async newExecution(definition, timeoutSeconds) {
      return fixture.createExecution(await fixture.createWorkflow(definition), timeoutSeconds);
    },
    processorDeps({ registry, workerId, leaseMs = 30_000, slots = 4, events }) {
      const { db } = current();
      const clock = { now: () => new Date() };
      return {
        runStore: createRunStore({ pool: db.pool, workerId, leaseMs }),
        leases: createLeaseStore({ pool: db.pool, leaseMs }),
        registry,
        runs: new RunTable(),
        clock,
        workerId,
        log: createRecordingLogger(),
        events: events ?? { status: () => undefined, logs: () => undefined },
        nodes: {
          registry,
          breakers,
          slots: new Semaphore(slots),
          clock,
          random: () => 0.5,
          maxOutputBytes: 1024 * 1024,
        },
      };
    },
  };
  return fixture;
}
