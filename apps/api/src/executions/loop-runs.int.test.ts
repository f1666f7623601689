import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../testing/api-harness.ts';

// How loop runs read over the API, from node runs written straight into a pending execution
// (no executor consumes the harness's queue); the e2e tests cover real runs.

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

//   each (foreach over input.list): body [call]
const definition = {
  name: 'loop-runs',
  nodes: [
    { id: 'each', type: 'foreach', config: { items: 'input.list', body: ['call'] } },
    { id: 'call', type: 'transform', config: { expression: 'item' } },
  ],
};

async function executionWithLoopRuns(): Promise<string> {
  const wf = await h.request('POST', '/api/workflows', { body: definition });
  expect(wf.statusCode).toBe(201);
  const started = await h.request('POST', '/api/executions', {
    body: { workflow_id: wf.json<{ id: string }>().id, input_data: { list: ['a', 'b'] } },
  });
  expect(started.statusCode).toBe(202);
  const id = started.json<{ id: string }>().id;
  await h.db.pool.query(
    `insert into node_runs (execution_id, node_id, iteration, type, status, attempts, output, finished_at)
     values ($1, 'call', 0, 'transform', 'success', 1, '"a"', now()),
            ($1, 'call', 1, 'transform', 'success', 1, '"b"', now()),
            ($1, 'each', -1, 'foreach', 'success', 1, '["a","b"]', now())`,
    [id],
  );
  return id;
}

describe('loop runs over the API', () => {
  it('names the iteration of runs inside a loop and omits it elsewhere', async () => {
    const id = await executionWithLoopRuns();
    const res = await h.request('GET', `/api/executions/${id}`);
    expect(res.statusCode).toBe(200);
    const runs = res.json<{
      node_runs: { node_id: string; iteration?: number; output: unknown }[];
    }>().node_runs;
    const calls = runs.filter((r) => r.node_id === 'call');
    expect(calls.map((r) => [r.iteration, r.output]).sort()).toEqual([
      [0, 'a'],
      [1, 'b'],
    ]);
    const each = runs.find((r) => r.node_id === 'each');
    expect(each).not.toHaveProperty('iteration');
    expect(each?.output).toEqual(['a', 'b']);
  });

  it('lists a checkpoint per iteration', async () => {
    const id = await executionWithLoopRuns();
    const res = await h.request('GET', `/api/executions/${id}/checkpoints`);
    expect(res.statusCode).toBe(200);
    const checkpoints = res.json<{ checkpoints: { node_id: string; iteration?: number }[] }>()
      .checkpoints;
    expect(checkpoints.map((c) => `${c.node_id}:${c.iteration ?? '-'}`).sort()).toEqual([
      'call:0',
      'call:1',
      'each:-',
    ]);
  });
});
