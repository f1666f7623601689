import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, subscribeEvents, type ExecutionEvent } from '@linkflow/queue';
import { testRedisUrl } from '../../../../test/fixtures.ts';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

// router, foreach, try and return through a real executor (Postgres, Redis, BullMQ), with a
// local HTTP target that counts calls and the calls in flight.

let h: ExecutorHarness;
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
  h = await createExecutorHarness();
  await h.startExecutor();
});
afterAll(async () => {
  await h.close();
  await srv.close();
});

const runsOf = async (id: string) =>
  Object.fromEntries(
    (await h.get(id)).nodeRuns
      .filter((r) => r.iteration === undefined)
      .map((r) => [r.nodeId, r.status]),
  );

describe('router', () => {
  //            route
  //   "small" /  |"big"  \ "any"     \ "none" (default)
  //       small  big     any          none
  const routerFlow = () =>
    h.createWorkflow({
      name: 'router',
      nodes: [
        {
          id: 'route',
          type: 'router',
          config: {
            routes: [
              { name: 'small', expression: 'input.total < 100' },
              { name: 'big', expression: 'input.total >= 100' },
              { name: 'any', expression: 'input.total > 0' },
            ],
            default: 'none',
          },
        },
        n.transform('small', '"S"'),
        n.transform('big', '"B"'),
        n.transform('any', '"A"'),
        n.transform('none', '"N"'),
      ],
      edges: ['small', 'big', 'any', 'none'].map((to) => ({ from: 'route', to, when: to })),
    });

  it('takes the first matching route and skips the others', async () => {
    const id = await h.start(await routerFlow(), { total: 150 });
    const done = await h.waitFor(id);
    expect(done.status).toBe('success');
    expect(done.output).toEqual({ big: 'B' });
    expect(await runsOf(id)).toEqual({
      route: 'success',
      small: 'skipped',
      big: 'success',
      any: 'skipped',
      none: 'skipped',
    });
  });

  it('takes the default route when none matches', async () => {
    const id = await h.start(await routerFlow(), {});
    const done = await h.waitFor(id);
    expect(done.output).toEqual({ none: 'N' });
    expect((await runsOf(id))['none']).toBe('success');
  });
});

/** A foreach over `input.list` whose body calls the gauge, then shapes the item. */
const loopFlow = (options: { parallel: boolean; max_parallel?: number; key: string }) =>
  h.createWorkflow({
    name: `loop-${options.key}`,
    nodes: [
      {
        id: 'each',
        type: 'foreach',
        config: {
          items: 'input.list',
          body: ['call', 'shape'],
          parallel: options.parallel,
          ...(options.max_parallel ? { max_parallel: options.max_parallel } : {}),
        },
      },
      n.http('call', `${srv.url}/gauge/{{ execution.id }}?ms=150&item={{ item }}`),
      n.transform('shape', '{"i": index, "item": item, "echo": nodes.call.body.item}'),
      n.transform('after', '$count(nodes.each)'),
    ],
    edges: [
      { from: 'call', to: 'shape' },
      { from: 'each', to: 'after' },
    ],
  });

describe('foreach', () => {
  it('runs the body once per item, one at a time, outputs in item order', async () => {
    const list = ['a', 'b', 'c', 'd'];
    const id = await h.start(await loopFlow({ parallel: false, key: 'seq' }), { list });
    const done = await h.waitFor(id);
    expect(done.status).toBe('success');
    expect(done.output).toEqual({ after: 4 });
    const each = done.nodeRuns.find((r) => r.nodeId === 'each');
    expect(each?.output).toEqual(list.map((item, i) => ({ i, item, echo: item })));
    expect(srv.maxInFlight.get(id)).toBe(1);
    const iterations = done.nodeRuns
      .filter((r) => r.nodeId === 'call')
      .map((r) => r.iteration)
      .sort();
    expect(iterations).toEqual([0, 1, 2, 3]);
  });

  it('runs at most max_parallel iterations at once, outputs still in item order', async () => {
    const list = Array.from({ length: 12 }, (_, i) => `x${i}`);
    const flow = await loopFlow({ parallel: true, max_parallel: 3, key: 'par' });
    const id = await h.start(flow, { list });
    const done = await h.waitFor(id);
    expect(done.status).toBe('success');
    const each = done.nodeRuns.find((r) => r.nodeId === 'each');
    expect(each?.output).toEqual(list.map((item, i) => ({ i, item, echo: item })));
    expect(srv.counts.get(`gauge/${id}`)).toBe(12);
    expect(srv.maxInFlight.get(id)).toBeLessThanOrEqual(3);
    expect(srv.maxInFlight.get(id)).toBeGreaterThan(1);
  });

  it('names the iteration in live status events and in log lines', async () => {
    const flow = await loopFlow({ parallel: false, key: 'events' });
    const id = await h.start(flow, { list: ['a', 'b'] }, { enqueue: false });
    const sub = createRedis(testRedisUrl(), { role: 'subscriber' });
    const seen: ExecutionEvent[] = [];
    const subscription = await subscribeEvents(sub, id, (e) => void seen.push(e));
    await h.queue.enqueue({ executionId: id, tenantId: h.tenantId, priority: 'normal' });
    await h.waitFor(id);
    const ended = () =>
      seen.some((e) => e.kind === 'status' && e.node_id === undefined && e.status === 'success');
    await expect.poll(ended, { timeout: 5_000, interval: 20 }).toBe(true);
    await subscription.unsubscribe();
    sub.disconnect();
    const calls = seen.flatMap((e) =>
      e.kind === 'status' && e.node_id === 'call' ? [`${e.status}:${String(e.iteration)}`] : [],
    );
    expect(calls).toEqual(['running:0', 'success:0', 'running:1', 'success:1']);
    const logged = seen.flatMap((e) =>
      e.kind === 'log' && e.entry.node_id === 'call' ? [e.entry.data?.['iteration']] : [],
    );
    expect(logged).toEqual([0, 1]);
  });

  it('fails the node when items is not an array', async () => {
    const flow = await loopFlow({ parallel: false, key: 'bad' });
    const id = await h.start(flow, { list: 'nope' });
    const done = await h.waitFor(id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ type: 'VALIDATION', node_id: 'each' });
  });
});

/** try: [bad]  catch: [handler]  finally: [fin]; guard --> after */
const tryFlow = (errorScope: 'continue' | 'propagate') =>
  h.createWorkflow({
    name: `try-${errorScope}`,
    nodes: [
      {
        id: 'guard',
        type: 'try',
        config: { try: ['bad'], catch: ['handler'], finally: ['fin'], error_scope: errorScope },
      },
      n.http('bad', `${srv.url}/status/404`),
      n.transform('handler', '{"caught": nodes.guard.error.type, "ok": nodes.guard.ok}'),
      n.http('fin', `${srv.url}/count/{{ execution.id }}-fin`),
      n.transform('after', 'nodes.guard.ok'),
    ],
    edges: [{ from: 'guard', to: 'after' }],
  });

describe('try', () => {
  it('runs catch with the caught error and finally, then continues', async () => {
    const id = await h.start(await tryFlow('continue'));
    const done = await h.waitFor(id);
    expect(done.status).toBe('success');
    expect(done.output).toEqual({ after: false });
    const run = (nodeId: string) => done.nodeRuns.find((r) => r.nodeId === nodeId);
    expect(run('guard')?.output).toMatchObject({ ok: false, error: { type: 'EXECUTION' } });
    expect(run('handler')?.output).toEqual({ caught: 'EXECUTION', ok: false });
    expect(run('bad')?.status).toBe('failed');
    expect(srv.counts.get(`count/${id}-fin`)).toBe(1);
  });

  it('fails the try node with the caught error under propagate, after finally ran', async () => {
    const id = await h.start(await tryFlow('propagate'));
    const done = await h.waitFor(id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ type: 'EXECUTION', node_id: 'guard' });
    expect(srv.counts.get(`count/${id}-fin`)).toBe(1);
    expect((await runsOf(id))['after']).toBe('cancelled');
  });

  it('runs finally and no catch when the try list succeeds (after its own retries)', async () => {
    const wf = await h.createWorkflow({
      name: 'try-ok',
      nodes: [
        {
          id: 'guard',
          type: 'try',
          config: { try: ['flaky'], catch: ['handler'], finally: ['fin'] },
        },
        n.http('flaky', `${srv.url}/flaky/{{ execution.id }}?fails=1`, {
          retry: { max_attempts: 2, initial_delay_ms: 10 },
        }),
        n.transform('handler', '"ran"'),
        n.http('fin', `${srv.url}/count/{{ execution.id }}-fin`),
      ],
    });
    const id = await h.start(wf);
    const done = await h.waitFor(id);
    expect(done.status).toBe('success');
    expect(done.output).toEqual({ guard: { ok: true, error: null } });
    expect(done.nodeRuns.find((r) => r.nodeId === 'flaky')?.attempts).toBe(2);
    expect(done.nodeRuns.some((r) => r.nodeId === 'handler')).toBe(false);
    expect(srv.counts.get(`count/${id}-fin`)).toBe(1);
  });
});

describe('return', () => {
  it('ends the execution with its value; later nodes skip, running ones are cancelled', async () => {
    //   a --> ret --> later          slow (runs beside, cancelled by the return)
    const wf = await h.createWorkflow({
      name: 'return',
      nodes: [
        n.transform('a', '21 * 2'),
        { id: 'ret', type: 'return', config: { value: { answer: '{{ nodes.a }}' } } },
        n.http('later', `${srv.url}/count/{{ execution.id }}-later`),
        n.http('slow', `${srv.url}/slow?ms=5000`),
      ],
      edges: [
        { from: 'a', to: 'ret' },
        { from: 'ret', to: 'later' },
      ],
    });
    const id = await h.start(wf);
    const done = await h.waitFor(id);
    expect(done.status).toBe('success');
    expect(done.output).toEqual({ answer: 42 });
    expect(await runsOf(id)).toEqual({
      a: 'success',
      ret: 'success',
      later: 'skipped',
      slow: 'cancelled',
    });
    expect(srv.counts.get(`count/${id}-later`)).toBeUndefined();
  });
});
