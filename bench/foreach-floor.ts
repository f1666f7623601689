/**
 * The floor under the foreach scenario: what the loop's two irreducible parts cost on this
 * machine, each alone, next to the 20-node chain the scenario compares the loop with.
 *
 * - engine: the bench loop (1,000 items, 50 lanes, body one transform) through `runDag` over
 *   in-memory ports: no checkpoint, event, log, trace or Redis, only planning, expressions,
 *   slots, cost and the lanes.
 * - checkpoints: the 1,000 iteration node runs and their 1,000 log lines written with the
 *   store's own checkpoint statement (`writeCheckpoints`), 50 rows a statement as the loop
 *   sends them, then all in one statement; nothing else running.
 * - chain writes: 20 one-row statements, the checkpoint writes of the 20-node chain.
 *
 * Run: `npx tsx bench/foreach-floor.ts [repeats]` (Postgres from BENCH_DATABASE_BASE_URL,
 * default postgresql://postgres@127.0.0.1:5432/postgres; a scratch database is dropped after).
 */
import { randomUUID } from 'node:crypto';
import { compileWorkflow, type CompiledWorkflow, type Fence } from '@linkflow/domain';
import { BreakerRegistry, runDag, Semaphore } from '@linkflow/engine';
import { createBuiltinRegistry } from '@linkflow/nodes';
import {
  createApiKeyRepository,
  createDb,
  createExecutionRepository,
  createRunStore,
  createWorkflowRepository,
  writeCheckpoints,
  type CheckpointRequest,
  type Db,
} from '@linkflow/store';
import { createBenchDatabase } from './src/database.ts';
import { FOREACH_MAX_PARALLEL, foreachWorkflow } from './src/foreach-scenario.ts';
import { median } from './src/stats.ts';

const ITEMS = 1_000;
const repeats = Number(process.argv[2] ?? 15);
const baseUrl =
  process.env['BENCH_DATABASE_BASE_URL'] || 'postgresql://postgres@127.0.0.1:5432/postgres';

async function timed(run: () => Promise<unknown>): Promise<number[]> {
  await run(); // warm-up: JIT, prepared statement, buffers
  const walls: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    walls.push(performance.now() - t0);
  }
  return walls;
}

/** The bench loop through the engine alone; throws unless it succeeds. */
async function engineLoop(): Promise<number[]> {
  const registry = createBuiltinRegistry({
    ...{ enabled: ['foreach', 'transform'], httpAllow: [], dbConnections: {}, codePoolSize: 0 },
  });
  const compiled = compileWorkflow(foreachWorkflow(), registry);
  if (!compiled.ok) throw new TypeError(JSON.stringify(compiled.error));
  const workflow: CompiledWorkflow = compiled.value;
  const breakers = new BreakerRegistry();
  const deps = {
    ...{ registry, breakers, slots: new Semaphore(FOREACH_MAX_PARALLEL) },
    ...{ clock: { now: () => new Date() }, random: Math.random, maxOutputBytes: 10 << 20 },
  };
  const once = async () => {
    const outcome = await runDag(deps, {
      ...{ workflow, states: new Map(), tenantId: 't', signal: new AbortController().signal },
      context: { input: { n: ITEMS }, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
      ...{ onStarted: () => undefined, onSettled: () => Promise.resolve() },
    });
    if (outcome.status !== 'success') throw new TypeError(`loop ended ${outcome.status}`);
  };
  try {
    return await timed(once);
  } finally {
    breakers.shutdown();
  }
}

/** A claimed execution of a fresh tenant's workflow: the fence its checkpoints carry. */
async function claimedExecution(db: Db): Promise<() => Promise<Fence>> {
  const ids = { next: () => randomUUID() };
  const tenantId = await createApiKeyRepository({ prisma: db.prisma, ids }).ensureTenant(
    `floor-${randomUUID()}`,
  );
  const workflows = createWorkflowRepository({ prisma: db.prisma, pool: db.pool, ids });
  const workflowId = (await workflows.create(tenantId, foreachWorkflow())).id;
  return async () => {
    const created = await createExecutionRepository({ pool: db.pool }).create({
      ...{ id: ids.next(), tenantId, workflowId, workflowVersion: 1 },
      ...{ priority: 'normal', inputData: {}, at: new Date() },
    });
    if (created.outcome !== 'created') throw new TypeError('execution not created');
    const claim = await createRunStore({ pool: db.pool }).claim(created.execution.id, new Date());
    if (!claim.claimed) throw new TypeError('execution not claimed');
    return claim.execution.fence;
  };
}

/** Iteration `index`'s checkpoint as the executor sends it: the run and its success line. */
function iterationWrite(fence: Fence, index: number): CheckpointRequest {
  const at = new Date();
  const message = 'node item_v succeeded';
  const data = { iteration: index, attempts: 1, duration_ms: 0 };
  return {
    ...{ fence, whileStatus: ['running'] },
    logs: [{ at, level: 'info', nodeId: 'item_v', message, data }],
    run: {
      ...{ nodeId: 'item_v', iteration: index, type: 'transform', status: 'success' },
      ...{ attempts: 1, startedAt: at, finishedAt: at, durationMs: 0, error: null },
      ...{ outputJson: `{"v":${index + 1}}`, outputBytes: 9, attemptLog: [] },
      ...{ usage: { expression_evaluations: 1 }, cost: '0.00000100' },
    },
  };
}

/** Writes `rows` iteration checkpoints of a new execution, `perStatement` to a statement. */
async function writeRows(db: Db, fence: Fence, rows: number, perStatement: number) {
  for (let start = 0; start < rows; start += perStatement) {
    const batch = Array.from({ length: Math.min(perStatement, rows - start) }, (_, i) =>
      iterationWrite(fence, start + i),
    );
    const written = await writeCheckpoints(db.pool, batch);
    if (written.some((w) => w === undefined)) throw new TypeError('a checkpoint was fenced out');
  }
}

async function checkpointFloors(url: string): Promise<Record<string, number[]>> {
  const db = createDb({ url, maxConnections: 2 });
  try {
    const next = await claimedExecution(db);
    const shape = async (rows: number, per: number) => {
      const fences = await Promise.all(Array.from({ length: repeats + 1 }, next));
      return timed(() => writeRows(db, fences.pop() as Fence, rows, per));
    };
    return {
      [`checkpoints: ${ITEMS} rows, ${FOREACH_MAX_PARALLEL} a statement`]: await shape(
        ITEMS,
        FOREACH_MAX_PARALLEL,
      ),
      [`checkpoints: ${ITEMS} rows in one statement`]: await shape(ITEMS, ITEMS),
      'chain writes: 20 one-row statements': await shape(ITEMS / FOREACH_MAX_PARALLEL, 1),
    };
  } finally {
    await db.close();
  }
}

const format = (walls: number[]) =>
  `median ${median(walls).toFixed(1)} ms (min ${Math.min(...walls).toFixed(1)}, ` +
  `max ${Math.max(...walls).toFixed(1)}, ${walls.length} runs)`;

const database = await createBenchDatabase(baseUrl);
try {
  const figures = {
    [`engine alone: ${ITEMS} iterations, ${FOREACH_MAX_PARALLEL} lanes`]: await engineLoop(),
    ...(await checkpointFloors(database.url)),
  };
  for (const [name, walls] of Object.entries(figures)) console.log(`${name}: ${format(walls)}`);
} finally {
  await database.drop();
}
