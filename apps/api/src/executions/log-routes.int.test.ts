import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewLogEntry } from '@linkflow/domain';
import { createLogRepository } from '@linkflow/store';
import { createApiHarness, sampleWorkflow, type ApiHarness } from '../testing/api-harness.ts';

// GET /api/executions/:id/logs: each filter on stored entries of a real execution.

let h: ApiHarness;
let executionId: string;

const at = new Date('2026-01-01T00:00:00Z');
const entries: NewLogEntry[] = [
  { at, level: 'debug', nodeId: null, message: 'execution started' },
  { at, level: 'info', nodeId: 'fetch', message: 'GET https://example.test answered 200' },
  { at, level: 'warn', nodeId: 'fetch', message: 'Slow target: 900 ms' },
  { at, level: 'error', nodeId: 'save', message: 'insert failed: SLOW disk' },
  { at, level: 'info', nodeId: 'save', message: 'retrying', data: { attempt: 2 } },
];

beforeAll(async () => {
  h = await createApiHarness();
  const workflow = (await h.request('POST', '/api/workflows', { body: sampleWorkflow() })).json<{
    id: string;
  }>();
  executionId = (
    await h.request('POST', '/api/executions', { body: { workflow_id: workflow.id } })
  ).json<{ id: string }>().id;
  await createLogRepository({ pool: h.db.pool }).append(executionId, entries);
});
afterAll(async () => h.close());

async function seqs(query: string): Promise<{ seqs: number[]; next_after: number | null }> {
  const res = await h.request('GET', `/api/executions/${executionId}/logs${query}`);
  expect(res.statusCode).toBe(200);
  const body = res.json<{ items: { seq: number }[]; next_after: number | null }>();
  return { seqs: body.items.map((e) => e.seq), next_after: body.next_after };
}

describe('GET /api/executions/:id/logs filters', () => {
  it('answers every entry in seq order with its shape', async () => {
    const res = await h.request('GET', `/api/executions/${executionId}/logs`);
    const body = res.json<{ items: unknown[] }>();
    expect(body.items).toHaveLength(5);
    expect(body.items[4]).toEqual({
      seq: 5,
      at: at.toISOString(),
      level: 'info',
      node_id: 'save',
      message: 'retrying',
      data: { attempt: 2 },
    });
  });

  it('takes level as a minimum', async () => {
    expect((await seqs('?level=debug')).seqs).toEqual([1, 2, 3, 4, 5]);
    expect((await seqs('?level=info')).seqs).toEqual([2, 3, 4, 5]);
    expect((await seqs('?level=warn')).seqs).toEqual([3, 4]);
    expect((await seqs('?level=error')).seqs).toEqual([4]);
  });

  it('filters by node_id', async () => {
    expect((await seqs('?node_id=fetch')).seqs).toEqual([2, 3]);
    expect((await seqs('?node_id=nope')).seqs).toEqual([]);
  });

  it('matches q as a case-insensitive substring of the message', async () => {
    expect((await seqs('?q=slow')).seqs).toEqual([3, 4]);
    expect((await seqs('?q=%25')).seqs).toEqual([]);
  });

  it('pages with after and limit, giving next_after while a page is full', async () => {
    expect(await seqs('?after=3')).toEqual({ seqs: [4, 5], next_after: null });
    expect(await seqs('?limit=2')).toEqual({ seqs: [1, 2], next_after: 2 });
    expect(await seqs('?limit=2&after=2')).toEqual({ seqs: [3, 4], next_after: 4 });
  });

  it('combines filters', async () => {
    expect((await seqs('?level=info&node_id=save&q=RETRY')).seqs).toEqual([5]);
  });

  it('refuses bad filters with 400 naming the field', async () => {
    for (const [query, field] of [
      ['?level=loud', 'level'],
      ['?after=-1', 'after'],
      ['?limit=0', 'limit'],
      ['?limit=1001', 'limit'],
      ['?after=x', 'after'],
    ] as const) {
      const res = await h.request('GET', `/api/executions/${executionId}/logs${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(JSON.stringify(res.json()), query).toContain(field);
    }
  });
});
