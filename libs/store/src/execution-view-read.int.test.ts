import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Fence } from '@linkflow/domain';
import { createDb } from './db-client.ts';
import { createExecutionRepository } from './execution-repository.ts';
import { isTransientStoreError } from './transient-errors.ts';
import { useChildExecutionFixture } from './testing/child-execution-fixture.ts';

const f = useChildExecutionFixture();
const nodes = [{ id: 'a', type: 'transform', config: { expression: '1' } }];

const startChild = async (parent: Fence, workflowId: string, nodeId: string) => {
  const started = await f.children.start({
    parent,
    nodeId,
    workflowId,
    version: undefined,
    input: { n: nodeId },
    at: new Date(),
  });
  if (started.kind !== 'created') throw new TypeError(`child of ${nodeId} not created`);
  return started.child.executionId;
};

/** Node runs beside the subworkflow ones: a plain run and foreach iterations, varied fields. */
async function addNodeRuns(executionId: string): Promise<void> {
  await f.db.pool.query(
    `insert into node_runs (execution_id, node_id, iteration, type, status, attempts, started_at,
       finished_at, duration_ms, output, output_truncated, error, usage, cost)
     values ($1, 'plain', -1, 'transform', 'success', 1, now() - interval '3 s', now() - interval '2 s', 1000,
       '{"b": [1, 2.5, "x"], "a": null}', false, null, '{"cpu_ms": 3}', 0.00001250),
       ($1, 'body', 1, 'transform', 'failed', 2, now() - interval '1 s', now(), 7, null, true,
       '{"type": "EXECUTION", "message": "boom", "node_id": "body", "status": 503}', null, 0),
       ($1, 'body', 0, 'transform', 'success', 1, now() - interval '1 s', now(), 5, '"zero"', false,
       null, null, 0.5),
       ($1, 'later', -1, 'transform', 'pending', 0, null, null, null, null, false, null, null, 0)`,
    [executionId],
  );
}

describe('execution read with subworkflow links', () => {
  it('returns what the detail read and the family read return, for a parent and its children', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const parent = await f.claimedParent(target, [
      { id: 'call', type: 'subworkflow', config: { workflow_id: target } },
      { id: 'again', type: 'subworkflow', config: { workflow_id: target } },
    ]);
    const first = await startChild(parent, target, 'call');
    const second = await startChild(parent, target, 'again');
    await addNodeRuns(parent.executionId);
    const executions = createExecutionRepository({ pool: f.db.pool });
    for (const id of [parent.executionId, first, second]) {
      // ACT
      const read = await executions.getWithFamily(f.tenantId, id);
      // ASSERT
      expect(read).toEqual({
        detail: await executions.get(f.tenantId, id),
        family: await f.children.family(id),
      });
    }
    const parentRead = await executions.getWithFamily(f.tenantId, parent.executionId);
    expect(parentRead?.family.children.map((c) => c.executionId)).toEqual([first, second]);
    expect(parentRead?.detail.nodeRuns.map((r) => [r.nodeId, r.iteration])).toContainEqual([
      'body',
      1,
    ]);
    const childRead = await executions.getWithFamily(f.tenantId, first);
    expect(childRead?.family).toMatchObject({ parentExecutionId: parent.executionId, depth: 1 });
  });

  it('finds nothing for another tenant or an unknown id', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const parent = await f.claimedParent(target);
    const executions = createExecutionRepository({ pool: f.db.pool });
    expect(await executions.getWithFamily('another-tenant', parent.executionId)).toBeUndefined();
    expect(await executions.getWithFamily(f.tenantId, 'no-such-execution')).toBeUndefined();
  });

  it('answers concurrent reads, batched together, each with its own execution or nothing', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const parent = await f.claimedParent(target);
    const child = await startChild(parent, target, 'call');
    await addNodeRuns(parent.executionId);
    const executions = createExecutionRepository({ pool: f.db.pool });
    const asked: [string, string][] = [
      [f.tenantId, parent.executionId],
      [f.tenantId, 'no-such-execution'],
      [f.tenantId, child],
      ['another-tenant', child],
      [f.tenantId, parent.executionId],
    ];
    // ACT: one tick, so the reads share statements
    const reads = await Promise.all(asked.map(([t, id]) => executions.getWithFamily(t, id)));
    // ASSERT
    const expected = await Promise.all(
      asked.map(async ([t, id]) => {
        const detail = await executions.get(t, id);
        return detail && { detail, family: await f.children.family(id) };
      }),
    );
    expect(reads).toEqual(expected);
    expect(reads.map((r) => r?.detail.id)).toEqual([
      parent.executionId,
      undefined,
      child,
      undefined,
      parent.executionId,
    ]);
  });
});

describe('a batch holding a huge execution', () => {
  it('gives each of 50 reads its own execution, tenant by tenant, beside a 5 MB output', async () => {
    const target = (await f.workflows.create(f.tenantId, { name: 'child', nodes })).id;
    const big = (await f.claimedParent(target)).executionId;
    const small = (await f.claimedParent(target)).executionId;
    await f.db.pool.query(
      `insert into node_runs (execution_id, node_id, iteration, type, status, attempts, output)
       values ($1, 'huge', -1, 'transform', 'success', 1, to_jsonb(repeat('x', 5000000)))`,
      [big],
    );
    const executions = createExecutionRepository({ pool: f.db.pool });
    const kinds: [string, string][] = [
      [f.tenantId, small],
      [f.tenantId, big],
      ['another-tenant', big],
      ['another-tenant', small],
      [f.tenantId, 'no-such-execution'],
    ];
    const asked = Array.from({ length: 10 }, () => kinds).flat();
    // ACT: one tick, so the reads share statements
    const reads = await Promise.all(asked.map(([t, id]) => executions.getWithFamily(t, id)));
    // ASSERT
    expect(reads.map((r) => r?.detail.id)).toEqual(
      asked.map(([t, id]) => (t === f.tenantId && id !== 'no-such-execution' ? id : undefined)),
    );
    // the same tenant's reads of one execution share one row (one view), not 10 copies of 5 MB
    const bigReads = reads.filter((r) => r?.detail.id === big);
    expect(bigReads).toHaveLength(10);
    expect(new Set(bigReads).size).toBe(1);
    for (const r of bigReads) {
      const huge = r?.detail.nodeRuns.find((n) => n.nodeId === 'huge');
      expect((huge?.output as string).length).toBe(5_000_000);
    }
  });
});

describe('execution reads while Postgres is gone', () => {
  it('fail together, with one connection attempt for the whole batch', async () => {
    // A "Postgres" that accepts and drops every connection (as one that just died).
    let attempts = 0;
    const server = createServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const db = createDb({ url: `postgresql://postgres@127.0.0.1:${port}/none`, maxConnections: 4 });
    try {
      const executions = createExecutionRepository({ pool: db.pool });
      // ACT: one tick, so the reads share a statement
      const reads = await Promise.allSettled(
        ['a', 'b', 'c', 'd', 'e'].map((id) => executions.getWithFamily(f.tenantId, id)),
      );
      // ASSERT
      expect(reads.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
      for (const r of reads) {
        expect(r.status === 'rejected' && isTransientStoreError(r.reason)).toBe(true);
      }
      expect(attempts).toBe(1);
    } finally {
      await db.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
