/**
 * What the expression deadline costs: evaluates typical templates and transforms with
 * plain jsonata (no hooks, as before) and through `compileExpression` with the options
 * the executor passes (deadline, ceiling, signal, event-loop turns, caps), and the
 * rejected alternative: the same evaluation in a worker thread (the context has to be
 * copied to it each time). Run: `npx tsx bench/expression-cost.ts [iterations]`.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import jsonata from 'jsonata';
import { compileExpression, type EvaluateOptions } from '@linkflow/domain';

const iterations = Number(process.argv[2] ?? 100_000);

const items = Array.from({ length: 20 }, (_, i) => ({ name: `item ${i}`, price: i * 1.5 }));
const context = {
  input: { order_id: 42, name: 'Ada' },
  nodes: { fetch: { status: 200, body: { customer: { id: 'c-7' }, items } } },
  execution: { id: 'e1', workflow_id: 'w1', attempt: 1 },
};

const CASES = {
  'template (path)': 'input.order_id',
  'template (concat)':
    '"https://api.example.com/orders/" & input.order_id & "?c=" & nodes.fetch.body.customer.id',
  'transform (object, $sum over 20 items)':
    "{ 'id': input.order_id, 'total': $sum(nodes.fetch.body.items.price), 'names': nodes.fetch.body.items.name }",
  'transform ($map over 1,000 numbers)': '$sum($map([1..1000], function($v){ $v * 2 }))',
};

async function timePerCall(n: number, run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(n, 2000); i++) await run();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await run();
  return ((performance.now() - t0) / n) * 1000;
}

/** What the executor's node runner passes (libs/nodes `evaluationLimits`). */
function executorLimits(signal: AbortSignal): EvaluateOptions {
  const now = () => performance.now();
  return {
    now,
    deadline: now() + 30_000,
    maxMs: 1000,
    signal,
    yieldEveryMs: 5,
    yieldToLoop: () => new Promise((resolve) => setImmediate(resolve)),
  };
}

async function hooksCost(): Promise<void> {
  console.log(`| expression | plain jsonata µs | with limits µs | overhead |`);
  console.log(`| --- | ---: | ---: | ---: |`);
  const signal = new AbortController().signal;
  for (const [name, source] of Object.entries(CASES)) {
    const n = name.includes('1,000') ? Math.ceil(iterations / 100) : iterations;
    const plain = jsonata(source);
    const compiled = compileExpression(source);
    if (!compiled.ok) throw new TypeError(compiled.error);
    const before = await timePerCall(n, () => plain.evaluate(context));
    const after = await timePerCall(n, async () => {
      const result = await compiled.value.evaluate(context, executorLimits(signal));
      if (!result.ok) throw new TypeError(result.error.message);
    });
    const pct = ((after / before - 1) * 100).toFixed(0);
    console.log(`| ${name} | ${before.toFixed(1)} | ${after.toFixed(1)} | ${pct} % |`);
  }
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const jsonata = require(${JSON.stringify(createRequire(import.meta.url).resolve('jsonata'))});
const compiled = new Map();
parentPort.on('message', async ({ source, context }) => {
  let expr = compiled.get(source);
  if (!expr) compiled.set(source, (expr = jsonata(source)));
  parentPort.postMessage(await expr.evaluate(context));
});`;

/** Evaluation in a worker: one round trip with the whole context copied each time. */
async function workerCost(): Promise<void> {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  const call = (source: string, ctx: unknown) =>
    new Promise((resolve) => {
      worker.once('message', resolve);
      worker.postMessage({ source, context: ctx });
    });
  const big = {
    ...context,
    nodes: {
      ...context.nodes,
      earlier: Array.from({ length: 5000 }, (_, i) => ({ i, text: 'x'.repeat(200) })),
    },
  };
  const source = CASES['template (concat)'];
  const small = await timePerCall(Math.ceil(iterations / 10), () => call(source, context));
  const large = await timePerCall(200, () => call(source, big));
  const t0 = performance.now();
  const fresh = new Worker(WORKER_SOURCE, { eval: true });
  await new Promise((resolve) => {
    fresh.once('message', resolve);
    fresh.postMessage({ source, context });
  });
  const spawnMs = performance.now() - t0;
  await fresh.terminate();
  await worker.terminate();
  const bigBytes = Buffer.byteLength(JSON.stringify(big));
  console.log(`\nworker thread: ${small.toFixed(1)} µs per evaluation with a 1.5 KB context;`);
  console.log(
    `${(large / 1000).toFixed(2)} ms with a ${(bigBytes / 1e6).toFixed(1)} MB context (earlier outputs);`,
  );
  console.log(
    `a new worker (after a kill on timeout) answers its first evaluation in ${spawnMs.toFixed(0)} ms.`,
  );
}

await hooksCost();
await workerCost();
