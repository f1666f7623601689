import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../apps/api/src/testing/api-harness.ts';
import {
  openStream,
  wsBase,
  type StreamClient,
  type StreamMessage,
} from '../apps/api/src/testing/ws-client.ts';
import {
  createExecutorHarness,
  n,
  type ExecutorHarness,
} from '../apps/executor/src/testing/executor-harness.ts';

/**
 * The live log stream end to end: a real executor runs the workflow and publishes; API A
 * starts the execution; clients follow it on API B (its own Fastify app, Redis connections
 * and subscriber), some connecting mid-run.
 *
 *   s1 → s2 → s3 → s4 → s5 → s6     (code nodes: 4 console lines each, then ~250 ms busy)
 */
const STEPS = 6;
const step = (i: number) =>
  n.code(
    `s${i}`,
    `for (let j = 0; j < 4; j++) console.log("step ${i} line", j);
     const t = Date.now(); while (Date.now() - t < 250) {} return ${i};`,
  );

let ex: ExecutorHarness;
let apiA: ApiHarness;
let apiB: ApiHarness;
beforeAll(async () => {
  ex = await createExecutorHarness();
  await ex.startExecutor();
  apiA = await createApiHarness({ queueName: ex.queueName });
  // B's Postgres check is a minute apart: ends and entries here come through pub/sub.
  apiB = await createApiHarness({ queueName: ex.queueName, ws: { checkIntervalMs: 60_000 } });
  await apiB.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await apiB?.close();
  await apiA?.close();
  await ex?.close();
});

const follow = (api: ApiHarness, id: string, key: string, query = '') =>
  openStream(`${wsBase(api.app)}/api/executions/${id}/logs/stream${query}`, {
    authorization: `Bearer ${key}`,
  });

function expectWellFormed(client: StreamClient, stored: number[], after: number) {
  const seqs = client.seqs();
  expect(seqs).toEqual(stored.filter((s) => s > after));
  seqs.forEach((s, i) => i > 0 && expect(s).toBeGreaterThan(seqs[i - 1]!));
  const terminal: StreamMessage[] = [
    { kind: 'status', status: 'success', at: expect.any(String) },
    { kind: 'end', status: 'success' },
  ];
  expect(client.messages.slice(-2)).toEqual(terminal);
}

describe('live log stream across processes', () => {
  it('streams a running execution to clients of another API instance: no gap, no duplicate, end last', async () => {
    // ARRANGE: the workflow and the execution, both through API A.
    const nodes = Array.from({ length: STEPS }, (_, i) => step(i + 1));
    const edges = nodes.slice(1).map((node, i) => ({ from: `s${i + 1}`, to: node.id }));
    const wf = await apiA.request('POST', '/api/workflows', {
      body: { name: 'streamed', nodes, edges },
    });
    expect(wf.statusCode).toBe(201);
    const started = await apiA.request('POST', '/api/executions', {
      body: { workflow_id: wf.json().id },
    });
    const id = started.json<{ id: string }>().id;
    const key = apiA.adminKey;
    // ACT: one client from the start, two more once the run has logged (mid-run), on API B.
    const early = await follow(apiB, id, key);
    const logged = async () =>
      (await apiA.request('GET', `/api/executions/${id}/logs`)).json<{ items: unknown[] }>().items
        .length;
    await expect.poll(logged, { timeout: 20_000 }).toBeGreaterThanOrEqual(6);
    const mid = await follow(apiB, id, key);
    const midAfter = await follow(apiB, id, key, '?after=3');
    const statusAtConnect = (await apiA.request('GET', `/api/executions/${id}`)).json().status;
    const closes = await Promise.all([early, mid, midAfter].map((c) => c.closed));
    // ASSERT
    expect(statusAtConnect).toBe('running');
    expect(closes).toEqual(Array(3).fill({ code: 1000, reason: 'end' }));
    const stored = (await apiA.request('GET', `/api/executions/${id}/logs`))
      .json<{ items: { seq: number }[] }>()
      .items.map((e) => e.seq);
    expect(stored.length).toBeGreaterThanOrEqual(STEPS * 4);
    expectWellFormed(early, stored, 0);
    expectWellFormed(mid, stored, 0);
    expectWellFormed(midAfter, stored, 3);
    // Node status events came live (node-level, before the end).
    expect(early.messages).toContainEqual({
      kind: 'status',
      status: 'success',
      node_id: 's6',
      at: expect.any(String),
    });
  }, 60_000);

  it('ends a stream on API B when API A cancels the pending execution', async () => {
    // No executor consumes this queue: the execution stays pending until cancelled.
    const idle = await createApiHarness();
    try {
      const wf = await idle.request('POST', '/api/workflows', {
        body: { name: 'idle', nodes: [step(1)] },
      });
      const started = await idle.request('POST', '/api/executions', {
        body: { workflow_id: wf.json().id },
      });
      const id = started.json<{ id: string }>().id;
      const client = await follow(apiB, id, idle.adminKey);
      expect((await idle.request('POST', `/api/executions/${id}/cancel`)).statusCode).toBe(200);
      expect(await client.closed).toEqual({ code: 1000, reason: 'end' });
      expect(client.messages.at(-1)).toEqual({ kind: 'end', status: 'cancelled' });
    } finally {
      await idle.close();
    }
  }, 30_000);
});
