import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunStore } from '@linkflow/store';
import {
  createScratchDatabase,
  type ScratchDatabase,
} from '../../../../scripts/scratch-database.ts';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { killed, useChildExecutorSuite } from '../testing/child-executors.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

const e2e = useChildExecutorSuite('errwf', process.env);

let scratch: ScratchDatabase;
beforeAll(async () => {
  // A scratch database: the sweeper scans every execution, other test files' included.
  scratch = await createScratchDatabase({ baseUrl: testDatabaseUrl(), prefix: 'lf_errwf' });
}, 120_000);
afterAll(async () => scratch.drop());

async function withHarness(test: (h: ExecutorHarness) => Promise<void>): Promise<void> {
  const h = await createExecutorHarness(
    { EXECUTOR_RECONCILE_AFTER_MS: '500' },
    { databaseUrl: scratch.url },
  );
  try {
    await test(h);
  } finally {
    await h.close();
  }
}

async function setUp(h: ExecutorHarness) {
  const alerts = await h.createWorkflow({ name: 'alerts', nodes: [n.transform('echo', 'input')] });
  const guarded = await h.createWorkflow({
    name: 'guarded',
    nodes: [n.transform('bad', '$error("boom")')],
    settings: { on_error_workflow_id: alerts },
  });
  const runsOf = async () =>
    (
      await h.db.pool.query<{ id: string }>('select id from executions where workflow_id = $1', [
        alerts,
      ])
    ).rows;
  return { alerts, guarded, runsOf };
}

describe('error workflow across crashes', () => {
  it(
    'runs once when the executor is killed right after the failure',
    { timeout: 60_000 },
    async () => {
      await withHarness(async (h) => {
        const { guarded, runsOf } = await setUp(h);
        const id = await h.start(guarded);
        const child = e2e.executors.spawn(h);
        // ACT: kill -9 as soon as the failure is visible, then another executor takes over
        await h.waitFor(id, ['failed'], 30_000);
        await killed(child);
        await h.startExecutor({ EXECUTOR_RECONCILE_INTERVAL_MS: '300' });
        // ASSERT
        const runs = await runsOf();
        expect(runs).toHaveLength(1);
        const done = await h.waitFor(runs[0]!.id, ['success', 'failed', 'cancelled'], 30_000);
        expect(done.status).toBe('success');
        expect(done.inputData).toMatchObject({ execution_id: id, failed_node: 'bad' });
        expect(await runsOf()).toHaveLength(1);
      });
    },
  );

  it(
    'is enqueued by the sweeper when the enqueue after the failure was lost',
    { timeout: 60_000 },
    async () => {
      await withHarness(async (h) => {
        const { guarded, runsOf } = await setUp(h);
        // ARRANGE: a failure written with no enqueue after it (the process died there)
        const id = await h.start(guarded, {}, { enqueue: false });
        const store = createRunStore({ pool: h.db.pool, workerId: 'gone' });
        const claim = await store.claim(id, new Date());
        if (!claim.claimed) throw new TypeError('not claimed');
        const error = { type: 'EXECUTION', message: 'boom', node_id: 'bad' } as const;
        const reason = 'EXECUTION: boom';
        const at = new Date();
        const outcome = await store.finish(claim.execution.fence, {
          status: 'failed',
          output: null,
          error,
          at,
          reason,
        });
        expect(outcome?.errorExecution).toBeDefined();
        // ACT
        await h.startExecutor({ EXECUTOR_RECONCILE_INTERVAL_MS: '300' });
        // ASSERT
        const spawned = outcome!.errorExecution!.executionId;
        expect((await h.waitFor(spawned, ['success', 'failed'], 30_000)).status).toBe('success');
        expect((await runsOf()).map((r) => r.id)).toEqual([spawned]);
      });
    },
  );
});
