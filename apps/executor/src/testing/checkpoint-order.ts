/**
 * The invariant "every node is checkpointed before its dependants start", checked on what
 * Postgres recorded (see settle-recorder.ts) and on the node_runs rows, never on how the
 * executor batches its statements. Pure: fed rows, returns the violations it finds.
 */

/** A node_runs row as the check reads it back. */
export interface NodeRunRow {
  readonly nodeId: string;
  readonly iteration: number;
  readonly status: string;
  /** `started_at` in epoch ms (the executor's clock, ms resolution); null: it never ran. */
  readonly startedAtMs: number | null;
}

/** One settled-row event a trigger recorded (only committed transactions leave one). */
export interface SettleRecord {
  readonly nodeId: string;
  readonly iteration: number;
  readonly status: string;
  /**
   * `statement`: the row write itself (immediate trigger); `commit`: the same transaction at
   * its pre-commit (deferred constraint trigger), later than every statement of it.
   */
  readonly phase: 'statement' | 'commit';
  readonly txid: string;
  /** `clock_timestamp()` in epoch µs. */
  readonly atUs: number;
}

/** What one execution left in Postgres. */
export interface ExecutionEvidence {
  readonly executionId: string;
  readonly runs: readonly NodeRunRow[];
  readonly settles: readonly SettleRecord[];
}

/** The workflow's shape and the rows a successful execution of it must hold. */
export interface OrderSpec {
  readonly edges: readonly { readonly from: string; readonly to: string }[];
  /** Foreach body member → its foreach node. */
  readonly scopeOf: ReadonlyMap<string, string>;
  /** `node@iteration` → the status its row must end with (iteration -1 outside a loop). */
  readonly expected: ReadonlyMap<string, string>;
}

/** What the check found, and how many parent → dependant pairs it compared. */
export interface OrderReport {
  readonly violations: string[];
  readonly comparisons: number;
}

/** The row key the spec and the check use. */
export const runKey = (nodeId: string, iteration: number): string => `${nodeId}@${iteration}`;

/** The first committed settle of a row: its statement record and its transaction's commit record. */
interface FirstSettle {
  readonly status: string;
  readonly statementUs: number;
  readonly commitUs: number | undefined;
}

function firstSettles(settles: readonly SettleRecord[]): Map<string, FirstSettle> {
  const byKey = new Map<string, SettleRecord>();
  for (const s of settles) {
    const key = runKey(s.nodeId, s.iteration);
    const seen = byKey.get(key);
    if (s.phase === 'statement' && (!seen || s.atUs < seen.atUs)) byKey.set(key, s);
  }
  const first = new Map<string, FirstSettle>();
  for (const [key, s] of byKey) {
    const commits = settles.filter(
      (c) => c.phase === 'commit' && c.txid === s.txid && runKey(c.nodeId, c.iteration) === key,
    );
    const commitUs = commits.length > 0 ? Math.min(...commits.map((c) => c.atUs)) : undefined;
    first.set(key, { status: s.status, statementUs: s.atUs, commitUs });
  }
  return first;
}

/** Every expected row exists with its status, nothing else does, and each one's settle was recorded. */
function completeness(
  spec: OrderSpec,
  rows: ReadonlyMap<string, NodeRunRow>,
  first: ReadonlyMap<string, FirstSettle>,
): string[] {
  const out: string[] = [];
  for (const [key, status] of spec.expected) {
    const row = rows.get(key);
    if (!row) out.push(`${key}: no node_runs row (expected ${status})`);
    else if (row.status !== status) out.push(`${key}: row is ${row.status}, expected ${status}`);
    const settle = first.get(key);
    if (!settle) out.push(`${key}: no committed settled write was recorded`);
    else if (settle.status !== status) out.push(`${key}: first settled as ${settle.status}`);
    else if (settle.commitUs === undefined) out.push(`${key}: settle without a commit record`);
  }
  for (const key of rows.keys())
    if (!spec.expected.has(key)) out.push(`${key}: unexpected node_runs row`);
  return out;
}

/**
 * The runs whose settle must precede `child`'s start: its parents (in its own iteration when
 * they share its foreach body, else outside any loop) and, for a body member, the parents of
 * its foreach node (the member can only start once the foreach has).
 */
export function parentsOf(spec: OrderSpec, child: { nodeId: string; iteration: number }): string[] {
  const scope = spec.scopeOf.get(child.nodeId);
  const direct = spec.edges
    .filter((e) => e.to === child.nodeId)
    .map((e) =>
      runKey(
        e.from,
        spec.scopeOf.get(e.from) === scope && scope !== undefined ? child.iteration : -1,
      ),
    );
  const viaScope =
    scope === undefined
      ? []
      : spec.edges.filter((e) => e.to === scope).map((e) => runKey(e.from, -1));
  return [...new Set([...direct, ...viaScope])];
}

/**
 * Compares µs to ms without false alarms: `started_at` is the executor's `Date` (floored to
 * the ms), so a parent written at 10.9 ms and a child started at 10.95 ms read 10.9 vs 10.
 * Flooring the parent's time too keeps the order of events that really happened in order;
 * two events in the same millisecond cannot be told apart (both read equal: accepted).
 */
export const settledBefore = (parentUs: number, childStartMs: number): boolean =>
  Math.floor(parentUs / 1000) <= childStartMs;

function ordering(
  spec: OrderSpec,
  rows: ReadonlyMap<string, NodeRunRow>,
  first: ReadonlyMap<string, FirstSettle>,
): OrderReport {
  const violations: string[] = [];
  let comparisons = 0;
  for (const [key, child] of rows) {
    if (child.startedAtMs === null || child.status === 'skipped') continue;
    for (const parent of parentsOf(spec, child)) {
      comparisons += 1;
      const settle = first.get(parent);
      if (!settle) {
        violations.push(`${parent} -> ${key}: the dependant ran, the parent never settled`);
        continue;
      }
      if (!settledBefore(settle.statementUs, child.startedAtMs))
        violations.push(
          `${parent} -> ${key}: started at ${child.startedAtMs} ms, before the parent's settled write (${settle.statementUs} µs)`,
        );
      else if (settle.commitUs !== undefined && !settledBefore(settle.commitUs, child.startedAtMs))
        violations.push(
          `${parent} -> ${key}: started at ${child.startedAtMs} ms, before the parent's commit (${settle.commitUs} µs)`,
        );
    }
  }
  return { violations, comparisons };
}

/** Checks one successful execution: completeness of its rows, then parent-before-dependant order. */
export function checkCheckpointOrder(spec: OrderSpec, evidence: ExecutionEvidence): OrderReport {
  const rows = new Map(evidence.runs.map((r) => [runKey(r.nodeId, r.iteration), r]));
  const first = firstSettles(evidence.settles);
  const order = ordering(spec, rows, first);
  const violations = [...completeness(spec, rows, first), ...order.violations];
  return {
    violations: violations.map((v) => `${evidence.executionId} ${v}`),
    comparisons: order.comparisons,
  };
}
