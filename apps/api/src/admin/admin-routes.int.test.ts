import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeadLetterQueue,
  createExecutionQueues,
  createBreakerBoard,
  createWorkerRegistry,
  MAX_TAG_SETS,
  PRIORITIES,
  tagSetsKey,
  taggedQueueName,
  type DeadLetterQueue,
  type ExecutionQueues,
} from '@linkflow/queue';
import { createRunStore } from '@linkflow/store';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
let queues: ExecutionQueues;
let dlq: DeadLetterQueue;

beforeAll(async () => {
  h = await createApiHarness();
  queues = createExecutionQueues({ base: h.queue, connection: h.redis });
  dlq = createDeadLetterQueue({ connection: h.redis, name: h.queue.name });
});
afterAll(async () => {
  for (const tags of await queues.tagSets())
    await queues.forTags(tags).queue.obliterate({ force: true });
  await h.redis.del(
    `linkflow:${h.queue.name}:tag-sets`,
    `linkflow:${h.queue.name}:workers`,
    `linkflow:${h.queue.name}:breaker-executors`,
  );
  await dlq.queue.obliterate({ force: true });
  await dlq.close();
  await queues.close();
  await h.close();
});

const ROUTES = [
  ['GET', '/api/admin/queue/status'],
  ['POST', '/api/admin/queue/pause'],
  ['POST', '/api/admin/queue/resume'],
  ['GET', '/api/admin/workers'],
  ['GET', '/api/admin/breakers'],
  ['GET', '/api/admin/dlq'],
  ['POST', '/api/admin/dlq/x1/replay'],
  ['DELETE', '/api/admin/dlq/x1'],
] as const;

describe('admin route scopes', () => {
  it.each(ROUTES)(
    '%s %s answers 401 without a key and 403 with a non-admin key',
    async (m, url) => {
      expect((await h.request(m, url, { key: null })).statusCode).toBe(401);
      const all = await h.keyFor([
        'workflows:read',
        'workflows:write',
        'executions:read',
        'executions:write',
      ]);
      const res = await h.request(m, url, { key: all });
      expect(res.statusCode).toBe(403);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    },
  );
});

async function startExecution(priority: string, settings?: object): Promise<string> {
  const wf = await h.request('POST', '/api/workflows', {
    body: { ...sampleWorkflow(`wf-${priority}`), ...(settings ? { settings } : {}) },
  });
  const res = await h.request('POST', '/api/executions', {
    body: { workflow_id: wf.json<{ id: string }>().id, input_data: { total: 1 }, priority },
  });
  expect(res.statusCode).toBe(202);
  return res.json<{ id: string }>().id;
}

describe('GET /api/admin/queue/status', () => {
  it('counts waiting jobs by priority, the oldest age, workers and unroutable tagged work', async () => {
    // ARRANGE: 2 low + 1 high untagged, 1 normal needing gpu; one live untagged executor
    await startExecution('low');
    await startExecution('low');
    await startExecution('high');
    await startExecution('normal', { worker_tags: ['gpu'] });
    await new Promise((r) => setTimeout(r, 120));
    const registry = createWorkerRegistry({ connection: h.redis, name: h.queue.name });
    const worker = {
      id: 'w-1',
      host: 'h',
      pid: 1,
      started_at: new Date().toISOString(),
      last_heartbeat_at: new Date().toISOString(),
      concurrency: 4,
      tags: [],
      running: 0,
    };
    await registry.heartbeat(worker, 10_000);
    // ACT
    const res = await h.request('GET', '/api/admin/queue/status');
    // ASSERT
    expect(res.statusCode).toBe(200);
    const body = res.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual(['dlq_size', 'queues', 'unroutable', 'workers']);
    expect(body).toMatchObject({ dlq_size: 0, workers: 1, unroutable: 1 });
    const [untagged, gpu] = body['queues'] as Record<string, unknown>[];
    expect(Object.keys(untagged ?? {}).sort()).toEqual([
      'counts',
      'name',
      'oldest_waiting_ms',
      'paused',
      'waiting_by_priority',
    ]);
    expect(untagged).toMatchObject({
      name: h.queue.name,
      paused: false,
      counts: { waiting: 3, active: 0, delayed: 0, completed: 0, failed: 0 },
      waiting_by_priority: { high: 1, normal: 0, low: 2 },
    });
    expect(untagged?.['oldest_waiting_ms']).toBeGreaterThanOrEqual(100);
    expect(gpu).toMatchObject({
      name: taggedQueueName(h.queue.name, ['gpu']),
      counts: { waiting: 1 },
      waiting_by_priority: { high: 0, normal: 1, low: 0 },
    });
    // a gpu executor joins: nothing is unroutable any more
    await registry.heartbeat({ ...worker, id: 'w-2', tags: ['eu', 'gpu'] }, 10_000);
    const after = (await h.request('GET', '/api/admin/queue/status')).json<{
      unroutable: number;
      workers: number;
    }>();
    expect(after).toMatchObject({ unroutable: 0, workers: 2 });
    const workers = await h.request('GET', '/api/admin/workers');
    expect(workers.json()).toEqual([worker, { ...worker, id: 'w-2', tags: ['eu', 'gpu'] }]);
    await registry.remove('w-1');
    await registry.remove('w-2');
    expect((await h.request('GET', '/api/admin/workers')).json()).toEqual([]);
  });
});

describe('POST /api/admin/queue/pause and /resume', () => {
  it('pauses every queue in Redis (seen by a fresh API) and resumes them', async () => {
    const paused = await h.request('POST', '/api/admin/queue/pause');
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toEqual({
      paused: true,
      queues: [h.queue.name, taggedQueueName(h.queue.name, ['gpu'])],
    });
    // a restarted API (new app, new connections) sees the pause
    const restarted = await createApiHarness({ queueName: h.queue.name });
    try {
      const status = await restarted.request('GET', '/api/admin/queue/status');
      const states = status.json<{ queues: { paused: boolean }[] }>().queues;
      expect(states.map((q) => q.paused)).toEqual([true, true]);
    } finally {
      await restarted.app.close();
      await restarted.db.close();
      restarted.redis.disconnect();
    }
    // a tag set first used while paused starts paused too
    await startExecution('normal', { worker_tags: ['eu'] });
    expect(await queues.forTags(['eu']).queue.isPaused()).toBe(true);
    const resumed = await h.request('POST', '/api/admin/queue/resume');
    expect(resumed.json<{ paused: boolean; queues: string[] }>().queues).toHaveLength(3);
    for (const tags of await queues.tagSets())
      expect(await queues.forTags(tags).queue.isPaused()).toBe(false);
  });
});

describe('tag set limit', () => {
  it('refuses (409) a start that would add a tag set past the limit, storing nothing', async () => {
    // ARRANGE: the limit filled by a tenant's throwaway tag sets (plus the ones used above)
    const key = tagSetsKey(h.queue.name);
    const fill = MAX_TAG_SETS - (await h.redis.scard(key));
    await h.redis.sadd(key, ...Array.from({ length: fill }, (_, i) => `junk${i}`));
    const wf = await h.request('POST', '/api/workflows', {
      body: { ...sampleWorkflow('wf-new-tags'), settings: { worker_tags: ['fresh'] } },
    });
    // This tenant's rows only: other test files share the schema and write meanwhile.
    const count = `select count(*)::int as n from executions where tenant_id = $1`;
    try {
      const before = await h.db.pool.query(count, [h.tenantId]);
      // ACT
      const res = await h.request('POST', '/api/executions', {
        body: { workflow_id: wf.json<{ id: string }>().id, input_data: { total: 1 } },
      });
      // ASSERT
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'TOO_MANY_TAG_SETS' });
      const after = await h.db.pool.query(count, [h.tenantId]);
      expect(after.rows[0]).toEqual(before.rows[0]);
      expect(await h.redis.scard(key)).toBe(MAX_TAG_SETS);
    } finally {
      await h.redis.srem(key, ...Array.from({ length: fill }, (_, i) => `junk${i}`));
    }
  });
});

describe('sweeper routing', () => {
  it('requeues a tagged execution into its tag set queue', async () => {
    const id = `sweep-${Date.now()}`;
    await queues.requeue({ executionId: id, tenantId: 't', priority: 'low', workerTags: ['x'] });
    const job = await queues.forTags(['x']).getJob(id);
    expect(job?.opts.priority).toBe(PRIORITIES.low);
    expect(await h.queue.getJob(id)).toBeUndefined();
    expect((await queues.status(id, ['x'])).state).toBe('prioritized');
  });
});

describe('dead-letter routes', () => {
  it('answers 404 for ids that are not in the DLQ, and for a cursor it did not make 400', async () => {
    expect((await h.request('POST', '/api/admin/dlq/nope/replay')).statusCode).toBe(404);
    expect((await h.request('DELETE', '/api/admin/dlq/nope')).statusCode).toBe(404);
    expect((await h.request('GET', '/api/admin/dlq?cursor=abc')).statusCode).toBe(400);
  });

  it('lists entries oldest first with their execution, pages them, and deletes one', async () => {
    const ids = [await startExecution('low'), await startExecution('low'), 'gone-1'];
    for (const id of ids) await dlq.add(id, `boom ${id}`);
    const first = await h.request('GET', '/api/admin/dlq?limit=2');
    const page = first.json<{ items: Record<string, unknown>[]; next_cursor: string | null }>();
    expect(page.items.map((i) => i['execution_id'])).toEqual(ids.slice(0, 2));
    expect(page.items[0]).toMatchObject({
      tenant_id: h.tenantId,
      workflow_name: 'wf-low',
      status: 'pending',
      reason: `boom ${ids[0]}`,
      attempts: 0,
    });
    expect(page.items[0]?.['dead_lettered_at']).toMatch(/Z$/);
    const second = await h.request('GET', `/api/admin/dlq?limit=2&cursor=${page.next_cursor}`);
    expect(second.json()).toMatchObject({
      items: [{ execution_id: 'gone-1', workflow_id: null, status: null }],
      next_cursor: null,
    });
    // replay of an entry whose execution does not exist: 404
    expect((await h.request('POST', '/api/admin/dlq/gone-1/replay')).statusCode).toBe(404);
    const del = await h.request('DELETE', '/api/admin/dlq/gone-1');
    expect(del.statusCode).toBe(204);
    expect(await dlq.get('gone-1')).toBeUndefined();
    for (const id of ids.slice(0, 2)) await dlq.remove(id);
  });

  it('pages on without skipping entries when the operator discards the page just read', async () => {
    const ids = ['skip-a', 'skip-b', 'skip-c', 'skip-d'];
    for (const id of ids) await dlq.add(id, 'boom');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/admin/dlq?limit=1${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await h.request('GET', url);
      const page = res.json<{ items: { execution_id: string }[]; next_cursor: string | null }>();
      for (const item of page.items) {
        seen.push(item.execution_id);
        expect((await h.request('DELETE', `/api/admin/dlq/${item.execution_id}`)).statusCode).toBe(
          204,
        );
      }
      cursor = page.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(ids);
    // a cursor whose entry has gone meanwhile falls back to its position
    for (const id of ids) await dlq.add(id, 'boom');
    const gone = Buffer.from('dlq:2:never-there').toString('base64url');
    const res = await h.request('GET', `/api/admin/dlq?limit=5&cursor=${gone}`);
    expect(
      res.json<{ items: { execution_id: string }[] }>().items.map((i) => i.execution_id),
    ).toEqual(ids.slice(2));
    for (const id of ids) await dlq.remove(id);
  });

  /** An execution dead-lettered as the engine does it: failed in Postgres plus a DLQ entry. */
  async function deadLettered(): Promise<string> {
    const id = await startExecution('low');
    await h.queue.remove(id);
    await createRunStore({ pool: h.db.pool }).markDead(id, 'poison', new Date());
    await dlq.add(id, 'poison');
    return id;
  }

  it('discards an entry: the execution stays failed and cannot be replayed any more', async () => {
    const id = await deadLettered();
    expect((await h.request('DELETE', `/api/admin/dlq/${id}`)).statusCode).toBe(204);
    expect(await dlq.get(id)).toBeUndefined();
    const e = await h.request('GET', `/api/executions/${id}`);
    expect(e.json()).toMatchObject({ status: 'failed' });
    expect((await h.request('POST', `/api/admin/dlq/${id}/replay`)).statusCode).toBe(404);
  });

  it('replays: failed -> pending recorded, unfinished node runs pending again, job queued, entry gone', async () => {
    const id = await deadLettered();
    await h.db.pool.query(
      `insert into node_runs (execution_id, node_id, type, status, attempts) values
        ($1, 'double', 'transform', 'success', 1), ($1, 'big', 'condition', 'running', 1)`,
      [id],
    );
    const res = await h.request('POST', `/api/admin/dlq/${id}/replay`);
    expect(res.statusCode).toBe(202);
    const e = (await h.request('GET', `/api/executions/${id}`)).json<{
      status: string;
      error: unknown;
      node_runs: { node_id: string; status: string }[];
      transitions: { from: string; to: string; reason: string }[];
    }>();
    expect(e.status).toBe('pending');
    expect(e.error).toBeNull();
    expect(e.node_runs.map((r) => [r.node_id, r.status]).sort()).toEqual([
      ['big', 'pending'],
      ['double', 'success'],
    ]);
    expect(e.transitions.at(-1)).toMatchObject({
      from: 'failed',
      to: 'pending',
      reason: 'replayed from the dead-letter queue',
    });
    expect((await h.queue.status(id)).state).toBe('prioritized');
    expect(await dlq.get(id)).toBeUndefined();
    // a repeat (entry re-added as if the first call died before removing it) is harmless
    await dlq.add(id, 'poison');
    expect((await h.request('POST', `/api/admin/dlq/${id}/replay`)).statusCode).toBe(202);
    expect((await h.queue.status(id)).state).toBe('prioritized');
    expect(await dlq.get(id)).toBeUndefined();
  });

  it('refuses (409) to replay an execution that succeeded since', async () => {
    const id = await deadLettered();
    await h.db.pool.query(`update executions set status = 'success' where id = $1`, [id]);
    const res = await h.request('POST', `/api/admin/dlq/${id}/replay`);
    expect(res.statusCode).toBe(409);
    await dlq.remove(id);
  });

  it('refuses (409) to replay an execution retention purged, keeping its entry and queueing nothing', async () => {
    const id = await deadLettered();
    await h.db.pool.query(`update executions set purged_at = now() where id = $1`, [id]);
    const res = await h.request('POST', `/api/admin/dlq/${id}/replay`);
    expect(res.statusCode).toBe(409);
    expect(res.json<{ detail: string }>().detail).toMatch(/purged/);
    expect(await dlq.get(id)).toBeDefined();
    expect((await h.queue.status(id)).state).toBe('missing');
    expect((await h.request('GET', `/api/executions/${id}`)).json()).toMatchObject({
      status: 'failed',
    });
    await dlq.remove(id);
  });
});

describe('GET /api/admin/breakers', () => {
  const entry = (
    target: string,
    executor: string,
    state: 'closed' | 'half_open' | 'open',
    tenant = 'tn-a',
  ) => ({
    target,
    tenant_id: tenant,
    state,
    failures: state === 'open' ? 3 : 0,
    last_change_at: '2026-01-02T03:04:05.000Z',
    executor,
  });

  it('lists each live executor breaker by target then tenant; an expired or emptied executor drops out', async () => {
    // ARRANGE: two executors share a target, one of them for two tenants; a third one's states expire at once
    const board = createBreakerBoard({ connection: h.redis, name: h.queue.name });
    await board.publish('ex-b', [entry('api.example:443', 'ex-b', 'open')], 10_000);
    await board.publish(
      'ex-a',
      [
        entry('main', 'ex-a', 'closed'),
        entry('api.example:443', 'ex-a', 'closed', 'tn-b'),
        entry('api.example:443', 'ex-a', 'half_open'),
      ],
      10_000,
    );
    await board.publish('ex-gone', [entry('old:80', 'ex-gone', 'open')], 1);
    await new Promise((r) => setTimeout(r, 20));
    // ACT
    const res = await h.request('GET', '/api/admin/breakers');
    // ASSERT
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([
      entry('api.example:443', 'ex-a', 'half_open'),
      entry('api.example:443', 'ex-b', 'open'),
      entry('api.example:443', 'ex-a', 'closed', 'tn-b'),
      entry('main', 'ex-a', 'closed'),
    ]);
    expect(await h.redis.sismember(`linkflow:${h.queue.name}:breaker-executors`, 'ex-gone')).toBe(
      0,
    );
    // A publish replaces the executor's whole hash: an evicted breaker disappears.
    await board.publish('ex-a', [], 10_000);
    await board.remove('ex-b');
    expect((await h.request('GET', '/api/admin/breakers')).json()).toEqual([]);
  });
});
