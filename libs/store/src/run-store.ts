import { isTransientStoreError } from './transient-errors.ts';
import type pg from 'pg';
import {
  CLAIMED_STATUS,
  MicroBatcher,
  type ClaimOutcome,
  type ClaimedExecution,
  type ExecutionState,
  type ExecutionStatus,
  type Fence,
  type FinishOutcome,
  type FinishRequest,
  type NewLogEntry,
  type NodeRunWrite,
  type NodeStart,
  type NodeStatus,
  type Priority,
  type RunError,
  type SpawnedExecution,
  type WorkflowDefinition,
} from '@linkflow/domain';
import {
  createCheckpointBatcher,
  writtenSeqsByOrd,
  writeCheckpoints,
  type CheckpointRequest,
} from './checkpoint-batch.ts';
import type { SpawnedRow } from './error-workflow-sql.ts';
import { appendLogArgs } from './log-repository.ts';
import {
  APPEND_FENCED_LOGS_SQL,
  CLAIM_SQL,
  FINISH_SQL,
  MARK_DEAD_SQL,
  MARK_STARTED_SQL,
} from './run-store-sql.ts';

interface CheckpointJson {
  node_id: string;
  iteration: number;
  status: NodeStatus;
  output: unknown;
  error: RunError | null;
  attempts: number;
  cost: string | null;
}

const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

interface ClaimRequest {
  readonly executionId: string;
  readonly at: Date;
}

interface FinishBatchRequest {
  readonly fence: Fence;
  readonly result: FinishRequest;
}

function toClaimOutcome(
  executionId: string,
  row: Record<string, unknown> | undefined,
): ClaimOutcome {
  if (!row || row['claimed_id'] === null || row['claimed_id'] === undefined) {
    return {
      claimed: false,
      status: (row?.['current_status'] as ExecutionStatus | null | undefined) ?? null,
    };
  }
  return { claimed: true, execution: toClaimed(executionId, row) };
}

async function claimBatch(
  pool: pg.Pool,
  lease: { workerId: string; leaseMs: number },
  batch: readonly ClaimRequest[],
): Promise<ClaimOutcome[]> {
  const res = await pool.query<Record<string, unknown>>({
    name: 'lf_claims',
    text: CLAIM_SQL,
    values: [
      batch.map((r) => r.executionId),
      batch.map((r) => r.at),
      lease.workerId,
      lease.leaseMs,
    ],
  });
  const byOrd = new Map(res.rows.map((r) => [r['ord'] as number, r]));
  return batch.map((r, i) => toClaimOutcome(r.executionId, byOrd.get(i + 1)));
}

interface FinishRow extends SpawnedRow {
  ord: number;
  written: boolean;
  seqs: number[];
}

function toSpawned(row: FinishRow | undefined): SpawnedExecution | undefined {
  if (!row?.spawned_id || !row.spawned_tenant) return undefined;
  return {
    executionId: row.spawned_id,
    tenantId: row.spawned_tenant,
    priority: row.spawned_priority as Priority,
    workerTags: row.spawned_tags ?? [],
  };
}

type StatementOutcome = Omit<FinishOutcome, 'nodeSeqs'> | undefined;

async function finishStatement(
  pool: pg.Pool | pg.PoolClient,
  batch: readonly FinishBatchRequest[],
): Promise<StatementOutcome[]> {
  const logs = batch.flatMap((b, i) => (b.result.logs ?? []).map((log) => ({ r: i + 1, log })));
  const col = <T>(f: (b: FinishBatchRequest) => T) => batch.map(f);
  const res = await pool.query<FinishRow>({
    name: 'lf_finishes',
    text: FINISH_SQL,
    values: [
      col((b) => b.fence.executionId),
      col((b) => b.fence.attempt),
      col((b) => b.result.status),
      col((b) => json(b.result.output)),
      col((b) => json(b.result.error)),
      col((b) => b.result.at),
      col((b) => b.result.reason),
      logs.map((x) => x.r),
      logs.map((x) => x.log.at),
      logs.map((x) => x.log.level),
      logs.map((x) => x.log.nodeId),
      logs.map((x) => x.log.message),
      logs.map((x) => (x.log.data === undefined ? null : JSON.stringify(x.log.data))),
    ],
  });
  const byOrd = new Map(res.rows.map((r) => [r.ord, r]));
  return writtenSeqsByOrd(res.rows, batch.length).map((seqs, i) => {
    const spawned = toSpawned(byOrd.get(i + 1));
    return seqs && { seqs, ...(spawned && { errorExecution: spawned }) };
  });
}

/** Finishes a batch; carried last-node checkpoints share the transaction (one commit). */
async function finishBatch(
  pool: pg.Pool,
  batch: readonly FinishBatchRequest[],
): Promise<(FinishOutcome | undefined)[]> {
  const carried: { i: number; request: CheckpointRequest }[] = [];
  batch.forEach((b, i) => {
    const last = b.result.lastNode;
    if (last)
      carried.push({
        i,
        request: { fence: b.fence, run: last.run, logs: last.logs, whileStatus: [CLAIMED_STATUS] },
      });
  });
  if (carried.length === 0) {
    const outcomes = await finishStatement(pool, batch);
    return outcomes.map((o) => o && { ...o, nodeSeqs: [] });
  }
  const client = await pool.connect();
  // A checked-out client has no pool listener: without ours, a connection Postgres cuts
  // mid-transaction emits an unhandled 'error' and takes the whole process down.
  let broken: Error | undefined;
  const onError = (err: Error) => (broken = err);
  client.on('error', onError);
  try {
    await client.query('begin');
    const nodeSeqs = await writeCheckpoints(
      client,
      carried.map((c) => c.request),
    );
    const outcomes = await finishStatement(client, batch);
    await client.query('commit');
    const byIndex = new Map(carried.map((c, k) => [c.i, nodeSeqs[k] ?? []]));
    return outcomes.map((o, i) => o && { ...o, nodeSeqs: byIndex.get(i) ?? [] });
  } catch (err) {
    if (!broken) await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

function toClaimed(executionId: string, row: Record<string, unknown>): ClaimedExecution {
  return {
    fence: { executionId, attempt: row['attempt'] as number },
    tenantId: row['tenant_id'] as string,
    workflowId: row['workflow_id'] as string,
    workflowVersion: row['workflow_version'] as number,
    definition: row['definition'] as WorkflowDefinition,
    inputData: row['input_data'],
    previousStatus: row['prev_status'] as ExecutionStatus,
    recovered: row['recovered'] === true,
    parentExecutionId: (row['parent_execution_id'] as string | null) ?? null,
    priority: row['priority'] as string,
    timeoutSeconds: row['timeout_seconds'] as number | null,
    createdAt: row['created_at'] as Date,
    startedAt: row['started_at'] as Date,
    checkpoints: (row['checkpoints'] as CheckpointJson[]).map((c) => ({
      nodeId: c.node_id,
      iteration: c.iteration,
      status: c.status,
      output: c.output,
      error: c.error,
      attempts: c.attempts,
      cost: c.cost ?? '0',
    })),
  };
}

/** Lease length when none is configured (EXECUTOR_LEASE_MS). */
export const DEFAULT_LEASE_MS = 30_000;

/**
 * The executor's persistence: every write is fenced by (execution id, attempt), so a
 * worker that lost its job (another took it over and bumped the attempt) writes nothing.
 * Checkpoints from concurrent executions share commits (see CheckpointBatcher). A claim
 * leases the execution to `workerId` for `leaseMs` (renewed through the LeaseStore).
 */
export function createRunStore(deps: { pool: pg.Pool; workerId?: string; leaseMs?: number }) {
  const { pool } = deps;
  const lease = {
    workerId: deps.workerId ?? 'executor',
    leaseMs: deps.leaseMs ?? DEFAULT_LEASE_MS,
  };
  const checkpoints = createCheckpointBatcher(pool);
  const claims = new MicroBatcher<ClaimRequest, ClaimOutcome>({
    run: (b) => claimBatch(pool, lease, b),
    key: (r) => r.executionId,
  });
  const finishes = new MicroBatcher<FinishBatchRequest, FinishOutcome | undefined>({
    run: (b) => finishBatch(pool, b),
    key: (r) => r.fence.executionId,
  });
  return {
    /** Whether a failed call is worth retrying (by error class and SQLSTATE). */
    isTransient: isTransientStoreError,

    /**
     * Takes an execution for this worker: pending → running (recorded), or re-takes a
     * running one (attempt + 1, which fences the previous holder out), and leases it.
     */
    async claim(executionId: string, at: Date): Promise<ClaimOutcome> {
      return claims.submit({ executionId, at });
    },

    /**
     * Writes a node run and its log lines atomically. `whileStatus` lists the execution
     * statuses the write is allowed in (default: running). Returns the log seqs, or
     * undefined when the fence rejected the write.
     */
    checkpoint(
      fence: Fence,
      run: NodeRunWrite,
      logs: readonly NewLogEntry[] = [],
      whileStatus: readonly ExecutionStatus[] = [CLAIMED_STATUS],
    ): Promise<number[] | undefined> {
      return checkpoints.submit({ fence, run, logs, whileStatus });
    },

    /** Appends execution-level log lines (fenced on the attempt). */
    async appendLogs(fence: Fence, logs: readonly NewLogEntry[]): Promise<number[] | undefined> {
      if (logs.length === 0) return [];
      const res = await pool.query<{ seq: number }>(APPEND_FENCED_LOGS_SQL, [
        ...appendLogArgs(fence.executionId, logs),
        fence.attempt,
      ]);
      return res.rowCount === 0 ? undefined : res.rows.map((r) => r.seq);
    },

    /**
     * Records nodes `running` that started without a checkpoint announcing them (fenced;
     * settled rows are left alone). Rare: resumes and nodes made ready by a skip.
     */
    async markStarted(fence: Fence, starts: readonly NodeStart[], at: Date): Promise<void> {
      if (starts.length === 0) return;
      await pool.query(MARK_STARTED_SQL, [
        fence.executionId,
        fence.attempt,
        starts.map((s) => s.nodeId),
        starts.map((s) => s.type),
        at,
      ]);
    },

    /**
     * running → success/failed with output, error, the summed cost and final log lines,
     * in one statement; `failed` starts the error workflow (`errorExecution`, still to be
     * enqueued). Returns the log seqs, or undefined when fenced out.
     */
    async finish(fence: Fence, result: FinishRequest): Promise<FinishOutcome | undefined> {
      return finishes.submit({ fence, result });
    },

    /**
     * Records that an execution's job was dead-lettered: a pending or running execution
     * ends `failed` (type UNKNOWN) with the reason, so Postgres tells what happened.
     * Returns false when it was already terminal (or does not exist).
     */
    async markDead(executionId: string, reason: string, at: Date): Promise<boolean> {
      const error: RunError = {
        type: 'UNKNOWN',
        message: `dead-lettered: ${reason}`,
        node_id: null,
      };
      const res = await pool.query<{ n: number }>(MARK_DEAD_SQL, [
        executionId,
        JSON.stringify(error),
        at,
        `dead-lettered: ${reason}`,
      ]);
      return (res.rows[0]?.n ?? 0) > 0;
    },

    /** Current status, attempt and timeout of an execution (for fence checks and signals). */
    async readState(executionId: string): Promise<ExecutionState | undefined> {
      const res = await pool.query<{
        status: ExecutionStatus;
        attempt: number;
        timeout_seconds: number | null;
      }>('select status, attempt, timeout_seconds from executions where id = $1', [executionId]);
      const row = res.rows[0];
      return row
        ? { status: row.status, attempt: row.attempt, timeoutSeconds: row.timeout_seconds }
        : undefined;
    },
  };
}

export type RunStore = ReturnType<typeof createRunStore>;
