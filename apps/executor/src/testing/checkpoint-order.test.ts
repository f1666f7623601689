import { describe, expect, it } from 'vitest';
import {
  checkCheckpointOrder,
  runKey,
  type ExecutionEvidence,
  type NodeRunRow,
  type OrderSpec,
  type SettleRecord,
} from './checkpoint-order.ts';

// The negative control of checkpoint-order.int.test.ts: fabricated rows that break the
// invariant must be reported, so an empty report there means something.

// a -> b, and a foreach `each` (after a) whose body is call -> shape, one iteration.
const spec: OrderSpec = {
  edges: [
    { from: 'a', to: 'b' },
    { from: 'a', to: 'each' },
    { from: 'call', to: 'shape' },
  ],
  scopeOf: new Map([
    ['call', 'each'],
    ['shape', 'each'],
  ]),
  expected: new Map([
    [runKey('a', -1), 'success'],
    [runKey('b', -1), 'success'],
    [runKey('each', -1), 'success'],
    [runKey('call', 0), 'success'],
    [runKey('shape', 0), 'success'],
  ]),
};

const row = (nodeId: string, startedAtMs: number | null, iteration = -1): NodeRunRow => ({
  nodeId,
  iteration,
  status: 'success',
  startedAtMs,
});

/** A settle written at `atUs` and committed 300 µs later, in its own transaction. */
const settled = (nodeId: string, atUs: number, iteration = -1): SettleRecord[] => [
  { nodeId, iteration, status: 'success', phase: 'statement', txid: `${nodeId}${iteration}`, atUs },
  {
    nodeId,
    iteration,
    status: 'success',
    phase: 'commit',
    txid: `${nodeId}${iteration}`,
    atUs: atUs + 300,
  },
];

/** A consistent run: a settles at 1000.5 ms, every dependant starts at 1002 ms or later. */
const good = (): { runs: NodeRunRow[]; settles: SettleRecord[] } => ({
  runs: [
    row('a', 1000),
    row('b', 1002),
    row('each', 1002),
    row('call', 1003, 0),
    row('shape', 1005, 0),
  ],
  settles: [
    ...settled('a', 1_000_500),
    ...settled('b', 1_004_000),
    ...settled('call', 1_004_000, 0),
    ...settled('shape', 1_006_000, 0),
    ...settled('each', 1_007_000),
  ],
});

const check = (e: { runs: NodeRunRow[]; settles: SettleRecord[] }) =>
  checkCheckpointOrder(spec, { executionId: 'x', ...e } satisfies ExecutionEvidence);

const withStart = (runs: NodeRunRow[], key: string, startedAtMs: number) =>
  runs.map((r) => (runKey(r.nodeId, r.iteration) === key ? { ...r, startedAtMs } : r));

describe('checkCheckpointOrder', () => {
  it('finds nothing in a consistent run and counts every parent -> dependant pair', () => {
    // b<-a, each<-a, call@0<-a (via each), shape@0<-call@0 and <-a (via each)
    expect(check(good())).toEqual({ violations: [], comparisons: 5 });
  });

  it('reports a dependant started before its parent settled', () => {
    const e = good();
    const report = check({ ...e, runs: withStart(e.runs, 'b@-1', 999) });
    expect(report.violations).toEqual([
      expect.stringMatching(/^x a@-1 -> b@-1: .*before the parent's settled write/),
    ]);
  });

  it("reports a dependant started after its parent's statement but before its commit", () => {
    const e = good();
    const settles = e.settles.map((s) =>
      s.nodeId === 'a' && s.phase === 'commit' ? { ...s, atUs: 1_003_000 } : s,
    );
    const report = check({ runs: e.runs, settles });
    expect(report.violations).toEqual([
      expect.stringMatching(/a@-1 -> b@-1: .*before the parent's commit/),
      expect.stringMatching(/a@-1 -> each@-1: .*before the parent's commit/),
    ]);
  });

  it('accepts a dependant started in the millisecond its parent settled in (the limit of ms clocks)', () => {
    const e = good();
    const settles = e.settles.map((s) =>
      s.nodeId === 'a' ? { ...s, atUs: s.phase === 'commit' ? 1_002_800 : 1_002_300 } : s,
    );
    // b and each started at 1002 ms: in the millisecond of a's write and commit.
    expect(check({ runs: e.runs, settles }).violations).toEqual([]);
    const earlier = check({ runs: withStart(e.runs, 'b@-1', 1001), settles });
    expect(earlier.violations).toEqual([expect.stringMatching(/a@-1 -> b@-1/)]);
  });

  it('pairs a body member with its parent in the same iteration and with its foreach’s parents', () => {
    const e = good();
    const beforeA = check({ ...e, runs: withStart(e.runs, 'call@0', 999) });
    expect(beforeA.violations).toEqual([expect.stringMatching(/a@-1 -> call@0/)]);
    const beforeCall = check({ ...e, runs: withStart(e.runs, 'shape@0', 1003) });
    expect(beforeCall.violations).toEqual([expect.stringMatching(/call@0 -> shape@0/)]);
  });

  it('reports a parent that never settled while its dependant ran', () => {
    const e = good();
    const report = check({ ...e, settles: e.settles.filter((s) => s.nodeId !== 'a') });
    expect(report.violations).toContain('x a@-1: no committed settled write was recorded');
    expect(report.violations).toContain(
      'x a@-1 -> b@-1: the dependant ran, the parent never settled',
    );
  });

  it('reports missing, unsettled, unexpected rows and a settle without its commit', () => {
    const e = good();
    const runs = [
      ...e.runs
        .filter((r) => r.nodeId !== 'b')
        .map((r) => (r.nodeId === 'each' ? { ...r, status: 'running' } : r)),
      row('stray', 1001),
    ];
    const settles = e.settles.filter((s) => !(s.nodeId === 'shape' && s.phase === 'commit'));
    expect(check({ runs, settles }).violations).toEqual(
      expect.arrayContaining([
        'x b@-1: no node_runs row (expected success)',
        'x each@-1: row is running, expected success',
        'x shape@0: settle without a commit record',
        'x stray@-1: unexpected node_runs row',
      ]),
    );
  });
});
