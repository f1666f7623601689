import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
let workflowId: string;
beforeAll(async () => {
  h = await createApiHarness();
  workflowId = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json<{
    id: string;
  }>().id;
});
afterAll(async () => h.close());

const start = (body: Record<string, unknown>, headers?: Record<string, string>) =>
  h.request('POST', '/api/executions', {
    body: { workflow_id: workflowId, ...body },
    ...(headers ? { headers } : {}),
  });

/** What a start leaves behind: the tenant's execution and transition rows, and queued jobs. */
async function written() {
  const rows = await h.db.pool.query<{ executions: number; transitions: number }>(
    `select (select count(*)::int from executions where tenant_id = $1) as executions,
            (select count(*)::int from execution_transitions t
               join executions e on e.id = t.execution_id where e.tenant_id = $1) as transitions`,
    [h.tenantId],
  );
  const jobs = await h.queue.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
  return { ...rows.rows[0], jobs: Object.values(jobs).reduce((a, b) => a + b, 0) };
}

describe('POST /api/executions', () => {
  it('answers 202 with the pending execution and a Location', async () => {
    const res = await start({ input_data: { total: 80 } });
    expect(res.statusCode).toBe(202);
    const e = res.json();
    expect(res.headers.location).toBe(`/api/executions/${e.id}`);
    expect(e).toMatchObject({
      workflow_id: workflowId,
      workflow_version: 1,
      status: 'pending',
      priority: 'normal',
      input_data: { total: 80 },
      output: null,
      error: null,
      started_at: null,
      finished_at: null,
      timeout_seconds: null,
      node_runs: [],
      transitions: [{ from: null, to: 'pending', reason: 'created' }],
      cost: { total: '0.00000000', currency: 'USD' },
    });
  });

  it('enqueues a job carrying ids only, with an explicit priority', async () => {
    const normal = (await start({})).json<{ id: string }>();
    const high = (await start({}, { 'x-priority': 'high' })).json<{ id: string }>();
    const low = (await start({ priority: 'low' })).json<{ id: string }>();
    const jobs = await Promise.all([normal, high, low].map((e) => h.queue.getJob(e.id)));
    expect(jobs.map((j) => j?.opts.priority)).toEqual([5, 1, 10]);
    expect(jobs[0]?.data).toEqual({ execution_id: normal.id, tenant_id: h.tenantId });
  });

  it('returns the same execution for a repeated idempotency key (200), header or body', async () => {
    const first = await start({ input_data: { n: 1 } }, { 'idempotency-key': 'k-1' });
    const again = await start({ input_data: { n: 1 }, idempotency_key: 'k-1' });
    expect([first.statusCode, again.statusCode]).toEqual([202, 200]);
    expect(again.json().id).toBe(first.json().id);
    const rows = await h.db.pool.query(
      'select count(*) from executions where tenant_id = $1 and idempotency_key = $2',
      [h.tenantId, 'k-1'],
    );
    expect(Number(rows.rows[0].count)).toBe(1);
  });

  it('answers 409 for a reused idempotency key with a different body', async () => {
    await start({ input_data: { n: 1 } }, { 'idempotency-key': 'k-2' });
    const res = await start({ input_data: { n: 2 } }, { 'idempotency-key': 'k-2' });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('answers 400 naming idempotency_key for a reserved prefix, header or body, and writes nothing', async () => {
    const before = await written();
    const viaBody = await start({ idempotency_key: 'on-error:0193a' });
    const viaHeader = await start({}, { 'idempotency-key': 'sub:p:n' });
    for (const res of [viaBody, viaHeader]) {
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().errors).toEqual([
        { path: '/idempotency_key', message: expect.stringContaining('is reserved') },
      ]);
    }
    expect(await written()).toEqual(before);
  });

  it('hashes the request canonically: key order does not make a conflict', async () => {
    const first = await start({ input_data: { a: 1, b: 2 } }, { 'idempotency-key': 'k-order' });
    const again = await start({ input_data: { b: 2, a: 1 } }, { 'idempotency-key': 'k-order' });
    expect([first.statusCode, again.statusCode]).toEqual([202, 200]);
  });

  it('answers 409 for a used key whose new body names another workflow', async () => {
    await start({}, { 'idempotency-key': 'k-other' });
    const res = await h.request('POST', '/api/executions', {
      body: { workflow_id: 'missing' },
      headers: { 'idempotency-key': 'k-other' },
    });
    expect(res.statusCode).toBe(409);
  });

  it('answers 400 for input_data with a NUL character and writes nothing', async () => {
    const before = await written();
    const res = await start({ input_data: { text: 'a\u0000b' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('/input_data/text');
    expect(await written()).toEqual(before);
  });

  it('keeps idempotency keys per tenant', async () => {
    const other = await h.newTenant();
    const key = await h.keyFor(['admin'], other);
    const wf = (await h.request('POST', '/api/workflows', { key, body: sampleWorkflow() })).json<{
      id: string;
    }>();
    await start({}, { 'idempotency-key': 'shared' });
    const res = await h.request('POST', '/api/executions', {
      key,
      body: { workflow_id: wf.id },
      headers: { 'idempotency-key': 'shared' },
    });
    expect(res.statusCode).toBe(202);
  });

  it('answers 404 for an unknown workflow and writes nothing', async () => {
    const before = await written();
    const res = await h.request('POST', '/api/executions', { body: { workflow_id: 'missing' } });
    expect(res.statusCode).toBe(404);
    expect(await written()).toEqual(before);
  });

  it('pins the latest version when the workflow changed since this process last started it', async () => {
    // ARRANGE: this process remembers version 1 of a workflow that then gets version 2
    const id = (
      await h.request('POST', '/api/workflows', { body: sampleWorkflow('moving') })
    ).json<{
      id: string;
    }>().id;
    const first = await h.request('POST', '/api/executions', { body: { workflow_id: id } });
    await h.request('PUT', `/api/workflows/${id}`, { body: sampleWorkflow('moved') });
    // ACT
    const second = await h.request('POST', '/api/executions', { body: { workflow_id: id } });
    // ASSERT
    expect(first.json()).toMatchObject({ workflow_version: 1 });
    expect(second.statusCode).toBe(202);
    expect(second.json()).toMatchObject({ workflow_version: 2 });
  });

  it('answers 404 for a workflow deleted since this process last started it, and writes nothing', async () => {
    const id = (await h.request('POST', '/api/workflows', { body: sampleWorkflow('gone') })).json<{
      id: string;
    }>().id;
    const first = await h.request('POST', '/api/executions', { body: { workflow_id: id } });
    expect(first.statusCode).toBe(202);
    await h.request('POST', `/api/executions/${first.json<{ id: string }>().id}/cancel`);
    expect((await h.request('DELETE', `/api/workflows/${id}`)).statusCode).toBe(204);
    const before = await written();
    const res = await h.request('POST', '/api/executions', { body: { workflow_id: id } });
    expect(res.statusCode).toBe(404);
    expect(await written()).toEqual(before);
  });

  it('answers 400 naming the field for schema violations', async () => {
    const missing = await h.request('POST', '/api/executions', { body: { input_data: {} } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().errors).toContainEqual({
      path: '/workflow_id',
      message: expect.any(String),
    });
    const badPriority = await start({ priority: 'urgent' });
    expect(badPriority.json().errors[0].path).toBe('/priority');
    const badHeader = await start({}, { 'x-priority': 'urgent' });
    expect(badHeader.statusCode).toBe(400);
    const extra = await start({ surprise: 1 });
    expect(extra.json().errors[0].path).toBe('/surprise');
  });

  it('answers 400 naming workflow_id when it is not a string, and writes nothing', async () => {
    const before = await written();
    for (const workflow_id of [123, true, ['x'], { id: 'x' }]) {
      const res = await h.request('POST', '/api/executions', { body: { workflow_id } });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().errors).toEqual([{ path: '/workflow_id', message: 'must be string' }]);
    }
    expect(await written()).toEqual(before);
  });

  it('answers 400 when body and header disagree', async () => {
    const res = await start({ priority: 'low' }, { 'x-priority': 'high' });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].path).toBe('/priority');
  });
});

describe('reading executions', () => {
  it('gets one execution and 404s for unknown ids', async () => {
    const e = (await start({ input_data: { a: 1 } })).json<{ id: string }>();
    expect((await h.request('GET', `/api/executions/${e.id}`)).json()).toMatchObject({
      id: e.id,
      status: 'pending',
      input_data: { a: 1 },
    });
    expect((await h.request('GET', '/api/executions/nope')).statusCode).toBe(404);
  });

  it('lists with workflow and status filters and a cursor', async () => {
    const tenant = await h.newTenant();
    const key = await h.keyFor(['admin'], tenant);
    const wf = (await h.request('POST', '/api/workflows', { key, body: sampleWorkflow() })).json<{
      id: string;
    }>();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (await h.request('POST', '/api/executions', { key, body: { workflow_id: wf.id } })).json<{
          id: string;
        }>().id,
      );
    await h.request('POST', `/api/executions/${ids[0]}/cancel`, { key });
    const pending = (
      await h.request('GET', `/api/executions?workflow_id=${wf.id}&status=pending&limit=1`, { key })
    ).json();
    expect(pending.items).toHaveLength(1);
    expect(pending.items[0].id).toBe(ids[2]);
    const next = (
      await h.request(
        'GET',
        `/api/executions?workflow_id=${wf.id}&status=pending&limit=1&cursor=${pending.next_cursor}`,
        { key },
      )
    ).json();
    expect(next.items.map((e: { id: string }) => e.id)).toEqual([ids[1]]);
    const cancelled = (await h.request('GET', `/api/executions?status=cancelled`, { key })).json();
    expect(cancelled.items.map((e: { id: string }) => e.id)).toEqual([ids[0]]);
    const future = (
      await h.request(
        'GET',
        `/api/executions?from=${new Date(Date.now() + 60_000).toISOString()}`,
        { key },
      )
    ).json();
    expect(future.items).toEqual([]);
    expect((await h.request('GET', '/api/executions?status=weird', { key })).statusCode).toBe(400);
  });

  it('serves an empty log for a new execution and 404 for another tenant', async () => {
    const e = (await start({})).json<{ id: string }>();
    expect((await h.request('GET', `/api/executions/${e.id}/logs`)).json()).toEqual({
      items: [],
      next_after: null,
    });
    const stranger = await h.keyFor(['admin'], await h.newTenant());
    expect(
      (await h.request('GET', `/api/executions/${e.id}/logs`, { key: stranger })).statusCode,
    ).toBe(404);
  });
});

describe('cancel and timeout', () => {
  it('cancels a pending execution: cancelled, transition stored, job removed', async () => {
    const e = (await start({})).json<{ id: string }>();
    const res = await h.request('POST', `/api/executions/${e.id}/cancel`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'cancelled', error: { type: 'CANCELLATION' } });
    expect(res.json().transitions.map((t: { to: string }) => t.to)).toEqual([
      'pending',
      'cancelled',
    ]);
    expect(res.json().finished_at).toEqual(expect.any(String));
    expect(await h.queue.getJob(e.id)).toBeUndefined();
  });

  it('still answers 200 when the cancel signal cannot reach Redis after the commit', async () => {
    const broken = await createApiHarness({
      signals: { dequeue: () => Promise.reject(new TypeError('redis down')) },
    });
    try {
      const wf = (await broken.request('POST', '/api/workflows', { body: sampleWorkflow() })).json<{
        id: string;
      }>();
      const e = (
        await broken.request('POST', '/api/executions', { body: { workflow_id: wf.id } })
      ).json<{ id: string }>();
      const res = await broken.request('POST', `/api/executions/${e.id}/cancel`);
      expect(res.statusCode).toBe(200);
      expect(res.json().status).toBe('cancelled');
    } finally {
      await broken.close();
    }
  });

  it('answers 409 when cancelling a terminal execution, and 404 for unknown', async () => {
    const e = (await start({})).json<{ id: string }>();
    await h.request('POST', `/api/executions/${e.id}/cancel`);
    const again = await h.request('POST', `/api/executions/${e.id}/cancel`);
    expect(again.statusCode).toBe(409);
    expect(again.json().detail).toContain('cancelled');
    expect((await h.request('POST', '/api/executions/nope/cancel')).statusCode).toBe(404);
  });

  it('sets the timeout of a pending execution and refuses it on a terminal one', async () => {
    const e = (await start({})).json<{ id: string }>();
    const res = await h.request('PUT', `/api/executions/${e.id}/timeout`, {
      body: { timeout_seconds: 30 },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().timeout_seconds).toBe(30);
    expect(
      (await h.request('PUT', `/api/executions/${e.id}/timeout`, { body: { timeout_seconds: 0 } }))
        .statusCode,
    ).toBe(400);
    await h.request('POST', `/api/executions/${e.id}/cancel`);
    expect(
      (await h.request('PUT', `/api/executions/${e.id}/timeout`, { body: { timeout_seconds: 5 } }))
        .statusCode,
    ).toBe(409);
  });

  it("reports the workflow's settings.timeout_ms as timeout_seconds", async () => {
    const wf = (
      await h.request('POST', '/api/workflows', {
        body: { ...sampleWorkflow(), settings: { timeout_ms: 1500 } },
      })
    ).json<{ id: string }>();
    const res = await h.request('POST', '/api/executions', { body: { workflow_id: wf.id } });
    expect(res.json().timeout_seconds).toBe(1.5);
  });
});
