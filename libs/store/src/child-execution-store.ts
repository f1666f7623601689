import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import {
  MAX_SUBWORKFLOW_DEPTH,
  MAX_SUBWORKFLOW_FAMILY,
  type CancelledChild,
  type ChildStart,
  type ChildStartRequest,
  type ExecutionStatus,
  type Fence,
  type ParkOutcome,
  type Priority,
  type RunError,
  type SpawnedExecution,
  type TerminalChild,
} from '@linkflow/domain';
import {
  ABANDONED_PARENTS_SQL,
  ADOPT_CHILD_SQL,
  ANCESTOR_WORKFLOWS_SQL,
  CANCEL_DESCENDANTS_SQL,
  FAMILY_SIZE_SQL,
  FAMILY_SQL,
  FIND_CHILD_SQL,
  INSERT_CHILD_SQL,
  LOCK_PARENT_SQL,
  PARK_SQL,
  TARGET_SQL,
  WAKE_PARENT_SQL,
} from './child-execution-sql.ts';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Runs `fn` in one transaction on a checked-out client (rolled back when it throws). */
async function inTransaction<T>(pool: pg.Pool, fn: (client: Queryable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no pool listener: a connection cut mid-transaction must not
  // emit an unhandled 'error' (see run-store.ts).
  let broken: Error | undefined;
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    await client.query('begin');
    const value = await fn(client);
    await client.query('commit');
    return value;
  } catch (err) {
    if (!broken) await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

interface ParentRow {
  tenant_id: string;
  workflow_id: string;
  priority: Priority;
  depth: number;
}

interface ChildRow {
  id: string;
  status: ExecutionStatus;
  output: unknown;
  error: RunError | null;
  cost: string;
  /** The parent's node run names this child (see FIND_CHILD_SQL). */
  awaited: boolean;
}

const refused = (message: string): ChildStart => ({
  kind: 'refused',
  error: { type: 'VALIDATION', message },
});

/**
 * What the node does with the current child of (parent, node), or undefined when it starts a
 * new one. A live child is waited on (adopted by a rerun node, so a resume after a crash
 * settles with it) and a successful one is reused, whichever attempt started them. A failed or
 * cancelled child settles the node only while the node run names it (the node started it and
 * waits on it: a resume, or the wake-up after the child ended); a node run that does not (a
 * recover cleared it to rerun the node) starts a new child instead of failing again at once.
 */
async function existing(
  client: Queryable,
  req: ChildStartRequest,
  row: ChildRow,
): Promise<ChildStart | undefined> {
  if (row.status === 'pending' || row.status === 'running') {
    if (!row.awaited)
      await client.query(ADOPT_CHILD_SQL, [req.parent.executionId, req.nodeId, row.id, req.at]);
    return { kind: 'live', childId: row.id };
  }
  if (row.status !== 'success' && !row.awaited) return undefined;
  const { id, output, error, cost } = row;
  const child: TerminalChild = { id, status: row.status, output, error, cost };
  return { kind: 'terminal', child };
}

/** Why the child may not start (depth, recursion, family size), or undefined. */
async function refusal(
  client: Queryable,
  req: ChildStartRequest,
  parent: ParentRow,
): Promise<ChildStart | undefined> {
  if (parent.depth + 1 > MAX_SUBWORKFLOW_DEPTH)
    return refused(
      `subworkflow ${req.workflowId} would run at depth ${parent.depth + 1} (max ${MAX_SUBWORKFLOW_DEPTH})`,
    );
  const above = await client.query<{ workflow_id: string }>(ANCESTOR_WORKFLOWS_SQL, [
    req.parent.executionId,
  ]);
  if (above.rows.some((r) => r.workflow_id === req.workflowId))
    return refused(
      `workflow ${req.workflowId} calls itself (it is already running above this node)`,
    );
  const family = await client.query<{ n: number }>(FAMILY_SIZE_SQL, [
    ...[req.parent.executionId, MAX_SUBWORKFLOW_FAMILY],
  ]);
  if ((family.rows[0]?.n ?? 0) >= MAX_SUBWORKFLOW_FAMILY)
    return refused(
      `subworkflow ${req.workflowId} refused: this execution's family already holds ${MAX_SUBWORKFLOW_FAMILY} executions (the most one top-level execution may start)`,
    );
  return undefined;
}

async function startChild(
  client: Queryable,
  req: ChildStartRequest,
  newId: () => string,
): Promise<ChildStart> {
  const { executionId, attempt } = req.parent;
  const parent = (await client.query<ParentRow>(LOCK_PARENT_SQL, [executionId, attempt])).rows[0];
  if (!parent) return { kind: 'fenced' };
  const found = (await client.query<ChildRow>(FIND_CHILD_SQL, [executionId, req.nodeId])).rows[0];
  const current = found && (await existing(client, req, found));
  if (current) return current;
  const target = (
    await client.query<{ id: string; version: number; worker_tags: string[] }>(TARGET_SQL, [
      req.workflowId,
      parent.tenant_id,
      req.version ?? null,
    ])
  ).rows[0];
  if (!target) {
    const which = req.version === undefined ? '' : ` version ${req.version}`;
    return refused(`no workflow ${req.workflowId}${which} in this tenant`);
  }
  const refusedWhy = await refusal(client, req, parent);
  if (refusedWhy) return refusedWhy;
  const id = newId();
  await client.query(INSERT_CHILD_SQL, [
    ...[id, parent.tenant_id, target.id, target.version, parent.priority],
    JSON.stringify(req.input ?? null),
    ...[executionId, req.nodeId, parent.depth + 1, req.at, attempt],
  ]);
  const child: SpawnedExecution = {
    executionId: id,
    tenantId: parent.tenant_id,
    priority: parent.priority,
    workerTags: target.worker_tags,
  };
  return { kind: 'created', child };
}

/**
 * Subworkflow child executions in Postgres: starting a child (idempotent per parent node and
 * parent attempt),
 * parking a parent that only waits on children, waking it when a child ends, and cancelling
 * the children of an execution that ended.
 */
export function createChildExecutionStore(deps: { pool: pg.Pool; newId?: () => string }) {
  const { pool } = deps;
  const newId = deps.newId ?? randomUUID;
  return {
    /**
     * Starts the child of (parent, node) in the parent's tenant, at depth parent + 1, or
     * finds the one an earlier start or attempt started: a live or successful child is
     * answered, a failed or cancelled one too unless a recover reran the node (then a new
     * child starts under the parent's current attempt; see `existing`). Refuses (VALIDATION) an
     * unknown target, a depth past {@link MAX_SUBWORKFLOW_DEPTH}, a workflow already running
     * above and a family of {@link MAX_SUBWORKFLOW_FAMILY} executions (superseded children
     * count: a family cannot grow without bound by recovering).
     */
    start(req: ChildStartRequest): Promise<ChildStart> {
      return inTransaction(pool, (client) => startChild(client, req, newId));
    },

    /**
     * Parks the parent run `fence` (no job, lease released) unless one of its children has
     * already ended (`child_ended`: continue) or the run lost its claim (`fenced`). The parent row is locked first, so a child's wake
     * either sees the park or the park sees the ended child (no lost wake-up).
     */
    park(fence: Fence, at: Date): Promise<ParkOutcome> {
      return inTransaction(pool, async (client) => {
        const locked = await client.query(LOCK_PARENT_SQL, [fence.executionId, fence.attempt]);
        if (locked.rowCount === 0) return 'fenced';
        const res = await client.query(PARK_SQL, [fence.executionId, fence.attempt, at]);
        return (res.rowCount ?? 0) > 0 ? 'parked' : 'child_ended';
      });
    },

    /** Unparks the parent of `childId` (which ended); its job's request, or undefined. */
    async wakeParent(childId: string): Promise<SpawnedExecution | undefined> {
      const res = await pool.query<{
        id: string;
        tenant_id: string;
        priority: Priority;
        worker_tags: string[];
      }>(WAKE_PARENT_SQL, [childId]);
      const row = res.rows[0];
      return (
        row && {
          executionId: row.id,
          tenantId: row.tenant_id,
          priority: row.priority,
          workerTags: row.worker_tags,
        }
      );
    },

    /** Cancels every active execution below `executionId` (recursively), in one statement. */
    async cancelDescendants(
      executionId: string,
      at: Date,
      reason: string,
    ): Promise<CancelledChild[]> {
      const error: RunError = { type: 'CANCELLATION', message: reason };
      const res = await pool.query<{ id: string; from_status: ExecutionStatus }>(
        CANCEL_DESCENDANTS_SQL,
        [executionId, at, JSON.stringify(error), reason],
      );
      return res.rows.map((r) => ({ id: r.id, from: r.from_status }));
    },

    /** Where execution `id` sits among subworkflows (parent, depth, children), if it exists. */
    async family(executionId: string): Promise<ExecutionFamily | undefined> {
      const res = await pool.query<FamilyRow>(FAMILY_SQL, [executionId]);
      const row = res.rows[0];
      return row ? toExecutionFamily(row) : undefined;
    },

    /** Ended executions that still have active children (for the sweeper), `limit` at most. */
    async abandonedParents(limit: number): Promise<string[]> {
      const res = await pool.query<{ id: string }>(ABANDONED_PARENTS_SQL, [limit]);
      return res.rows.map((r) => r.id);
    },
  };
}

/** An execution's parent and children (subworkflow nodes), for the execution view. */
/** The columns of FAMILY_COLUMNS as `pg` returns them. */
export interface FamilyRow {
  parent_execution_id: string | null;
  parent_node_id: string | null;
  depth: number;
  children: { node_id: string; execution_id: string; status: ExecutionStatus }[];
}

/** An execution's subworkflow links from its FAMILY_COLUMNS. */
export function toExecutionFamily(row: FamilyRow): ExecutionFamily {
  return {
    parentExecutionId: row.parent_execution_id,
    parentNodeId: row.parent_node_id,
    depth: row.depth,
    children: row.children.map((c) => ({
      nodeId: c.node_id,
      executionId: c.execution_id,
      status: c.status,
    })),
  };
}

export interface ExecutionFamily {
  readonly parentExecutionId: string | null;
  readonly parentNodeId: string | null;
  /** 0 for a top-level execution. */
  readonly depth: number;
  /** Child executions, each with the parent node that started it, oldest first. */
  readonly children: readonly {
    readonly nodeId: string;
    readonly executionId: string;
    readonly status: ExecutionStatus;
  }[];
}

/** The Postgres store of subworkflow child executions. */
export type ChildExecutionStore = ReturnType<typeof createChildExecutionStore>;
