import { isNodeTerminal, NODE_STATUSES } from '@linkflow/domain';
import type { Db } from '@linkflow/store';
import type { ExecutionEvidence, NodeRunRow, SettleRecord } from './checkpoint-order.ts';

/** The node statuses a row settles with (the domain's terminal ones). */
export const SETTLED_STATUSES: readonly string[] = NODE_STATUSES.filter(isNodeTerminal);

const TABLE = 'test_checkpoint_settles';

/**
 * Two triggers on node_runs recording every write that leaves a row settled, with the writing
 * transaction's id and `clock_timestamp()`: one fires with the statement, the other is a
 * DEFERRED constraint trigger, so it fires at the transaction's pre-commit (after its last
 * statement, just before the commit record): `track_commit_timestamp` is off on these servers
 * and this needs no server setting. A transaction that rolls back takes its records with it.
 * Install it only in a scratch database: it slows every node_runs write down.
 */
export async function installSettleRecorder(pool: Db['pool']): Promise<void> {
  const statuses = SETTLED_STATUSES.map((s) => `'${s}'`).join(', ');
  await pool.query(`
    create table ${TABLE} (
      execution_id text not null, node_id text not null, iteration int not null, status text not null,
      phase text not null, txid bigint not null, at timestamptz not null);
    create index on ${TABLE} (execution_id);
    create function test_record_settle() returns trigger language plpgsql as $$
    begin
      insert into ${TABLE} values
        (new.execution_id, new.node_id, new.iteration, new.status, tg_argv[0], txid_current(), clock_timestamp());
      return null;
    end $$;
    create trigger test_settle_statement after insert or update on node_runs
      for each row when (new.status in (${statuses})) execute function test_record_settle('statement');
    create constraint trigger test_settle_commit after insert or update on node_runs
      deferrable initially deferred
      for each row when (new.status in (${statuses})) execute function test_record_settle('commit');
  `);
}

interface Raw {
  execution_id: string;
  node_id: string;
  iteration: number;
  status: string;
}

function groupBy<T extends Raw>(rows: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) out.set(r.execution_id, [...(out.get(r.execution_id) ?? []), r]);
  return out;
}

/**
 * Reads each execution's node_runs rows and settle records. Times come back as integers
 * computed in SQL (ms for `started_at`, µs for the records): no precision lost in parsing.
 */
export async function readEvidence(
  pool: Db['pool'],
  executionIds: readonly string[],
): Promise<ExecutionEvidence[]> {
  const runs = await pool.query<Raw & { started_ms: string | null }>(
    `select execution_id, node_id, iteration, status,
       (extract(epoch from started_at) * 1000)::bigint::text as started_ms
     from node_runs where execution_id = any($1)`,
    [executionIds],
  );
  const settles = await pool.query<
    Raw & { phase: 'statement' | 'commit'; txid: string; at_us: string }
  >(
    `select execution_id, node_id, iteration, status, phase, txid::text,
       (extract(epoch from at) * 1000000)::bigint::text as at_us
     from ${TABLE} where execution_id = any($1)`,
    [executionIds],
  );
  const runsOf = groupBy(runs.rows);
  const settlesOf = groupBy(settles.rows);
  return executionIds.map((executionId) => ({
    executionId,
    runs: (runsOf.get(executionId) ?? []).map((r): NodeRunRow => ({
      nodeId: r.node_id,
      iteration: r.iteration,
      status: r.status,
      startedAtMs: r.started_ms === null ? null : Number(r.started_ms),
    })),
    settles: (settlesOf.get(executionId) ?? []).map((r): SettleRecord => ({
      nodeId: r.node_id,
      iteration: r.iteration,
      status: r.status,
      phase: r.phase,
      txid: r.txid,
      atUs: Number(r.at_us),
    })),
  }));
}
