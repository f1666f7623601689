import type pg from 'pg';
import { ACTIVE_STATUSES, type IdGen, type WorkflowDefinition } from '@linkflow/domain';
import type { Prisma, PrismaClient } from './generated/prisma/client.ts';
import { afterCursor, decodeCursor, toPage } from './cursor.ts';
import type { Page, WorkflowRecord } from './records.ts';
import { storeErrors } from './store-errors.ts';

interface WorkflowRow {
  id: string;
  tenantId: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The largest version number (`workflow_versions.version` is int4). */
const MAX_VERSION = 2_147_483_647;

const toRecord = (row: WorkflowRow, version: number, definition: unknown): WorkflowRecord => ({
  id: row.id,
  tenantId: row.tenantId,
  name: (definition as WorkflowDefinition | undefined)?.name ?? row.name,
  version,
  definition: definition as WorkflowDefinition,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/** A validated definition is plain JSON; Prisma's JSON input type cannot see that. */
const toJson = (definition: WorkflowDefinition): Prisma.InputJsonValue =>
  definition as unknown as Prisma.InputJsonValue;

/** Result of deleting a workflow. `busy` means an execution of it is pending or running. */
export type DeleteOutcome = 'deleted' | 'not_found' | 'busy';

/** The next version under the workflow row's lock; `stale` when `basedOn` is not the latest. */
async function insertVersion(
  prisma: PrismaClient,
  v: { tenantId: string; id: string; definition: WorkflowDefinition; basedOn?: number },
): Promise<WorkflowRecord | 'stale' | undefined> {
  return prisma.$transaction(async (tx) => {
    const locked = await tx.$queryRaw<{ latest_version: number }[]>`
      select latest_version from workflows where id = ${v.id} and tenant_id = ${v.tenantId} and deleted_at is null for update`;
    const current = locked[0];
    if (!current) return undefined;
    if (v.basedOn !== undefined && v.basedOn !== current.latest_version) return 'stale';
    const version = current.latest_version + 1;
    await tx.workflowVersion.create({
      data: { workflowId: v.id, version, definition: toJson(v.definition) },
    });
    const row = await tx.workflow.update({
      where: { id: v.id },
      data: { latestVersion: version, name: v.definition.name },
    });
    return toRecord(row, version, v.definition);
  });
}

/**
 * Workflows and their immutable versions. Deleting is soft (executions keep pointing
 * at their pinned version) and refused while an execution is pending or running; the
 * workflow row lock orders it against concurrent execution creation.
 */
export function createWorkflowRepository(deps: {
  prisma: PrismaClient;
  pool: pg.Pool;
  ids: IdGen;
}) {
  const { prisma, pool, ids } = deps;
  const live = (tenantId: string, id: string) => ({ id, tenantId, deletedAt: null });

  return {
    async create(tenantId: string, definition: WorkflowDefinition): Promise<WorkflowRecord> {
      const id = ids.next();
      const row = await prisma.workflow.create({
        data: {
          id,
          tenantId,
          name: definition.name,
          latestVersion: 1,
          versions: { create: { version: 1, definition: toJson(definition) } },
        },
      });
      return toRecord(row, 1, definition);
    },

    /**
     * The latest version number of a live workflow of the tenant (one indexed read on the
     * hot path of starting executions; versions are immutable, so callers cache the rest).
     */
    async latestVersion(tenantId: string, id: string): Promise<number | undefined> {
      const res = await pool.query<{ latest_version: number }>(
        'select latest_version from workflows where id = $1 and tenant_id = $2 and deleted_at is null',
        [id, tenantId],
      );
      return res.rows[0]?.latest_version;
    },

    /** The latest version, or `version` when given; undefined when missing or another tenant's. */
    async get(tenantId: string, id: string, version?: number): Promise<WorkflowRecord | undefined> {
      // Versions are int4: a larger one (a `?version=` or a pinned subworkflow version) cannot
      // exist, and Prisma would throw on it (a 500 instead of a 404 or 422).
      if (version !== undefined && version > MAX_VERSION) return undefined;
      const row = await prisma.workflow.findFirst({ where: live(tenantId, id) });
      if (!row) return undefined;
      const v = await prisma.workflowVersion.findUnique({
        where: { workflowId_version: { workflowId: id, version: version ?? row.latestVersion } },
      });
      return v ? toRecord(row, v.version, v.definition) : undefined;
    },

    /**
     * One version of a workflow of the tenant, deleted or not: what an execution pinned
     * stays readable after its workflow is deleted (soft). Undefined when missing or
     * another tenant's.
     */
    async pinned(
      tenantId: string,
      id: string,
      version: number,
    ): Promise<WorkflowRecord | undefined> {
      const row = await prisma.workflow.findFirst({ where: { id, tenantId } });
      if (!row) return undefined;
      const v = await prisma.workflowVersion.findUnique({
        where: { workflowId_version: { workflowId: id, version } },
      });
      return v ? toRecord(row, v.version, v.definition) : undefined;
    },

    async list(
      tenantId: string,
      options: { limit: number; cursor?: string | undefined },
    ): Promise<Page<WorkflowRecord>> {
      const key = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
      if (options.cursor !== undefined && !key) throw storeErrors.badCursor();
      const rows = await prisma.workflow.findMany({
        where: { tenantId, deletedAt: null, ...afterCursor(key) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: options.limit + 1,
        include: { versions: { orderBy: { version: 'desc' }, take: 1 } },
      });
      return toPage(rows, options.limit, (row) =>
        toRecord(row, row.latestVersion, row.versions[0]?.definition),
      );
    },

    /** Stores a new immutable version; undefined when the workflow does not exist. */
    async addVersion(
      tenantId: string,
      id: string,
      definition: WorkflowDefinition,
    ): Promise<WorkflowRecord | undefined> {
      const out = await insertVersion(prisma, { tenantId, id, definition });
      return out === 'stale' ? undefined : out;
    },

    /**
     * Stores a new version made from version `basedOn` (a read-modify-write): `stale` when
     * another version was stored since, so the caller re-reads instead of overwriting it.
     */
    async addVersionOn(
      tenantId: string,
      id: string,
      change: { definition: WorkflowDefinition; basedOn: number },
    ): Promise<WorkflowRecord | 'stale' | undefined> {
      return insertVersion(prisma, { tenantId, id, ...change });
    },

    async delete(tenantId: string, id: string): Promise<DeleteOutcome> {
      return prisma.$transaction(async (tx) => {
        const locked = await tx.$queryRaw<{ id: string }[]>`
          select id from workflows where id = ${id} and tenant_id = ${tenantId} and deleted_at is null for update`;
        if (locked.length === 0) return 'not_found';
        const active = await tx.execution.count({
          where: { workflowId: id, status: { in: [...ACTIVE_STATUSES] } },
        });
        if (active > 0) return 'busy';
        await tx.workflow.update({ where: { id }, data: { deletedAt: new Date() } });
        return 'deleted';
      });
    },
  };
}

export type WorkflowRepository = ReturnType<typeof createWorkflowRepository>;
