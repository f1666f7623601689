import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '@linkflow/domain';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import {
  createScratchDatabase,
  type ScratchDatabase,
} from '../../../../scripts/scratch-database.ts';
import { checkCheckpointOrder, runKey, type OrderSpec } from '../testing/checkpoint-order.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';
import { installSettleRecorder, readEvidence } from '../testing/settle-recorder.ts';

/*
 * Durability of the hot path: every successful execution has every node checkpointed before
 * its dependants started. Checked on what Postgres saw, not on how the executor batches or
 * folds its statements, through a real executor (Postgres, Redis, BullMQ) at high concurrency.
 *
 * How: triggers on node_runs (settle-recorder.ts) record, for every write that leaves a row
 * settled (the domain's terminal statuses), `clock_timestamp()` at the statement and again at
 * its transaction's pre-commit (a deferred constraint trigger: `track_commit_timestamp` is
 * off and server settings are not ours to change). Records of a rolled-back transaction
 * vanish with it. A dependant's `started_at` is the executor's clock when the node began.
 *
 * What it proves, for each of ~200 concurrent successful executions of four shapes:
 * - every node of the workflow has a row with the status it must end with (skipped branches
 *   `skipped`, each foreach iteration's body nodes), none is left pending/running, nothing
 *   else has a row, and each row's first committed settled write was recorded;
 * - for every parent -> dependant pair where the dependant ran (a body member's parents in its
 *   own iteration, plus its foreach's parents), the parent's first settled row write AND its
 *   transaction's pre-commit happened before the dependant started. So a dependant started
 *   before its parent's commit was even begun (a start after the statement returned but
 *   before COMMIT, as a folded transaction could do) fails this test.
 *
 * Limits: both clocks are the machine's wall clock (Postgres and Node on one host); a clock
 * step (not a slew) during the run could fake or hide a violation. `started_at` has ms
 * resolution, so the recorded µs are floored to the ms before comparing (settledBefore):
 * events in the same millisecond count as ordered, i.e. a violation by less than the
 * distance to the next ms boundary goes unseen. The pre-commit record precedes the commit
 * record's flush: a dependant started while the COMMIT was in flight (before its reply) is
 * not caught. Only successful, crash-free executions are checked (no resumes, no cancels).
 * The negative control (the check reports fabricated violations) is checkpoint-order.test.ts.
 */

const EXECUTIONS_PER_SHAPE = 50;
const CONCURRENCY = '64';

interface Shape {
  readonly definition: WorkflowDefinition;
  readonly inputOf: (i: number) => unknown;
  readonly specOf: (input: unknown) => OrderSpec;
  /** Parent -> dependant pairs the check must compare per execution. */
  readonly pairs: number;
}

const topLevel = (statuses: Record<string, string>): Map<string, string> =>
  new Map(Object.entries(statuses).map(([id, s]) => [runKey(id, -1), s]));

const plain = (definition: WorkflowDefinition, statuses: Record<string, string>) => ({
  edges: definition.edges ?? [],
  scopeOf: new Map<string, string>(),
  expected: topLevel(statuses),
});

const chainDef: WorkflowDefinition = {
  name: 'order-chain',
  nodes: [
    n.transform('t1', 'input.n'),
    ...[2, 3, 4, 5].map((k) => n.transform(`t${k}`, `nodes.t${k - 1} + 1`)),
  ],
  edges: [1, 2, 3, 4].map((k) => ({ from: `t${k}`, to: `t${k + 1}` })),
};

// a -> b, a -> c, b + c -> d
const diamondDef: WorkflowDefinition = {
  name: 'order-diamond',
  nodes: [
    n.transform('a', 'input.n'),
    n.transform('b', 'nodes.a + 1'),
    n.transform('c', 'nodes.a * 2'),
    n.transform('d', 'nodes.b + nodes.c'),
  ],
  edges: [
    { from: 'a', to: 'b' },
    { from: 'a', to: 'c' },
    { from: 'b', to: 'd' },
    { from: 'c', to: 'd' },
  ],
};

//        cond
//  true /    \ false
//     yes    no
//    / |      | \
// after_yes  after_no
//      \    /
//       join
const conditionDef: WorkflowDefinition = {
  name: 'order-condition',
  nodes: [
    n.condition('cond', 'input.n % 2 = 0'),
    n.transform('yes', '"even"'),
    n.transform('no', '"odd"'),
    n.transform('after_yes', 'nodes.yes'),
    n.transform('after_no', 'nodes.no'),
    n.transform('join', 'input.n'),
  ],
  edges: [
    { from: 'cond', to: 'yes', when: 'true' },
    { from: 'cond', to: 'no', when: 'false' },
    { from: 'yes', to: 'after_yes' },
    { from: 'no', to: 'after_no' },
    { from: 'yes', to: 'join' },
    { from: 'no', to: 'join' },
  ],
};

const LIST = [1, 2, 3];
// a -> each (body: call -> shape, 2 iterations at a time) -> after
const foreachDef: WorkflowDefinition = {
  name: 'order-foreach',
  nodes: [
    n.transform('a', 'input.n'),
    {
      id: 'each',
      type: 'foreach',
      config: { items: 'input.list', body: ['call', 'shape'], parallel: true, max_parallel: 2 },
    },
    n.transform('call', 'item * 2'),
    n.transform('shape', 'nodes.call + index'),
    n.transform('after', '$count(nodes.each)'),
  ],
  edges: [
    { from: 'a', to: 'each' },
    { from: 'call', to: 'shape' },
    { from: 'each', to: 'after' },
  ],
};

const shapes: Shape[] = [
  {
    definition: chainDef,
    inputOf: (i) => ({ n: i }),
    specOf: () => plain(chainDef, { t1: 's', t2: 's', t3: 's', t4: 's', t5: 's' }),
    pairs: 4,
  },
  {
    definition: diamondDef,
    inputOf: (i) => ({ n: i }),
    specOf: () => plain(diamondDef, { a: 's', b: 's', c: 's', d: 's' }),
    pairs: 4,
  },
  {
    definition: conditionDef,
    inputOf: (i) => ({ n: i }),
    specOf: (input) => {
      const [taken, untaken] = (input as { n: number }).n % 2 === 0 ? ['yes', 'no'] : ['no', 'yes'];
      return plain(conditionDef, {
        cond: 's',
        [taken]: 's',
        [`after_${taken}`]: 's',
        [untaken]: 'skipped',
        [`after_${untaken}`]: 'skipped',
        join: 's',
      });
    },
    // cond -> taken, taken -> after_taken, and join after both branches (one skipped)
    pairs: 4,
  },
  {
    definition: foreachDef,
    inputOf: (i) => ({ n: i, list: LIST }),
    specOf: () => ({
      edges: foreachDef.edges ?? [],
      scopeOf: new Map([
        ['call', 'each'],
        ['shape', 'each'],
      ]),
      expected: new Map([
        ...topLevel({ a: 's', each: 's', after: 's' }),
        ...LIST.flatMap((_, i) => [
          [runKey('call', i), 's'] as const,
          [runKey('shape', i), 's'] as const,
        ]),
      ]),
    }),
    // a -> each, each -> after; per iteration a -> call, a -> shape, call -> shape
    pairs: 2 + 3 * LIST.length,
  },
];

/** `'s'` in the specs above is short for success. */
const expand = (spec: OrderSpec): OrderSpec => ({
  ...spec,
  expected: new Map([...spec.expected].map(([k, s]) => [k, s === 's' ? 'success' : s])),
});

let scratch: ScratchDatabase;
let h: ExecutorHarness;
beforeAll(async () => {
  // A scratch database: the triggers must neither slow nor record other test files' runs.
  scratch = await createScratchDatabase({ baseUrl: testDatabaseUrl(), prefix: 'lf_order' });
  h = await createExecutorHarness(
    { EXECUTOR_CONCURRENCY: CONCURRENCY, EXECUTOR_SLOTS_PER_TENANT: CONCURRENCY },
    { databaseUrl: scratch.url },
  );
  await installSettleRecorder(h.db.pool);
  await h.startExecutor();
});
afterAll(async () => {
  await h?.close();
  await scratch?.drop();
});

/** Polls until every execution is terminal (one query per round, not one per execution). */
async function waitForAll(ids: readonly string[]): Promise<Map<string, string>> {
  const statuses = async () => {
    const res = await h.db.pool.query<{ id: string; status: string }>(
      'select id, status from executions where id = any($1)',
      [ids],
    );
    return new Map(res.rows.map((r) => [r.id, r.status]));
  };
  const done = async () =>
    [...(await statuses()).values()].filter((s) => ['success', 'failed', 'cancelled'].includes(s))
      .length;
  await expect.poll(done, { timeout: 90_000, interval: 100 }).toBe(ids.length);
  return statuses();
}

describe('checkpoint order', () => {
  it('checkpoints every node of every successful execution before its dependants start', async () => {
    const workflowIds = await Promise.all(shapes.map((s) => h.createWorkflow(s.definition)));
    const runs: { id: string; spec: OrderSpec; pairs: number }[] = [];
    // Shapes interleaved in the queue, so the executor runs all four side by side.
    for (let i = 0; i < EXECUTIONS_PER_SHAPE; i += 1) {
      for (const [k, shape] of shapes.entries()) {
        const input = shape.inputOf(i);
        const id = await h.start(workflowIds[k] as string, input, { enqueue: false });
        runs.push({ id, spec: expand(shape.specOf(input)), pairs: shape.pairs });
      }
    }
    const ids = runs.map((r) => r.id);
    // All queued at once: up to EXECUTOR_CONCURRENCY of them run at the same time.
    await Promise.all(
      ids.map((id) =>
        h.queue.enqueue({ executionId: id, tenantId: h.tenantId, priority: 'normal' }),
      ),
    );
    // No fault is injected: every execution must succeed (and is then checked).
    const statuses = await waitForAll(ids);
    expect([...statuses.values()].filter((s) => s !== 'success')).toEqual([]);

    const evidence = new Map((await readEvidence(h.db.pool, ids)).map((e) => [e.executionId, e]));
    const violations: string[] = [];
    let comparisons = 0;
    for (const run of runs) {
      const e = evidence.get(run.id);
      if (!e) throw new TypeError(`no evidence read for ${run.id}`);
      const report = checkCheckpointOrder(run.spec, e);
      violations.push(...report.violations);
      comparisons += report.comparisons;
    }
    expect(violations).toEqual([]);
    // Not vacuous: every pair of every execution was compared.
    expect(comparisons).toBe(runs.reduce((sum, r) => sum + r.pairs, 0));
  }, 120_000);
});
