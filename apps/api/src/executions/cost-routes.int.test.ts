import type { ChildProcess } from 'node:child_process';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMoney } from '@linkflow/domain';
import { rollUpExecutions } from '@linkflow/store';
import { testDatabaseUrl } from '../../../../test/fixtures.ts';
import { spawnExecutor, stopExecutor } from '../testing/executor-process.ts';
import { createApiHarness, type ApiHarness } from '../testing/api-harness.ts';
import { startTcpProxy } from '../testing/stream-fixture.ts';

// The cost routes: a real run through a real executor (child process) for the per-execution
// view; executions and node runs seeded with chosen costs and timestamps for the report.

const HOUR = 3_600_000;

let h: ApiHarness;
let executor: ChildProcess;

beforeAll(async () => {
  h = await createApiHarness();
  executor = spawnExecutor(h.queue.name, 'cost-test', process.env);
});
afterAll(async () => {
  await stopExecutor(executor);
  await h.close();
});

/** The route's body (shape checked field by field below). */
interface CostView {
  execution_id: string;
  total: string;
  nodes: { node_id: string; usage: Record<string, unknown> | null; cost: string }[];
}

async function createWorkflow(name: string, key: string): Promise<string> {
  const res = await h.request('POST', '/api/workflows', {
    key,
    body: {
      name,
      nodes: [
        { id: 'a', type: 'transform', config: { expression: '1 + 1' } },
        { id: 'b', type: 'transform', config: { expression: 'nodes.a * 2' } },
      ],
      edges: [{ from: 'a', to: 'b' }],
    },
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string }>().id;
}

describe('GET /api/executions/:id/cost', () => {
  it('answers per-node usage and cost after a real run; the total is the stored total and the sum of the nodes', async () => {
    const workflowId = await createWorkflow('cost-real', h.adminKey);
    const id = (
      await h.request('POST', '/api/executions', { body: { workflow_id: workflowId } })
    ).json<{ id: string }>().id;
    let execution: { status: string; cost: { total: string; currency: string } } | undefined;
    await expect
      .poll(
        async () => {
          execution = (await h.request('GET', `/api/executions/${id}`)).json();
          return execution?.status;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe('success');
    const res = await h.request('GET', `/api/executions/${id}/cost`);
    expect(res.statusCode).toBe(200);
    const cost = res.json<CostView>();
    expect(cost).toMatchObject({ execution_id: id, currency: 'USD' });
    expect(cost.total).toMatch(/^\d+\.\d{8}$/);
    expect(cost.total).toBe(execution?.cost.total);
    expect(parseMoney(cost.total)).toBeGreaterThan(0n);
    expect(cost.nodes.map((n) => n.node_id).sort()).toEqual(['a', 'b']);
    for (const n of cost.nodes) {
      expect(n).toMatchObject({ type: 'transform', status: 'success', attempts: 1 });
      expect(n.cost).toMatch(/^\d+\.\d{8}$/);
      expect(n.usage).toHaveProperty('wall_ms');
    }
    const sum = cost.nodes.reduce((acc, n) => acc + parseMoney(n.cost), 0n);
    expect(sum).toBe(parseMoney(cost.total));
  });

  it('is 404 for an unknown execution and for another tenant’s', async () => {
    expect((await h.request('GET', `/api/executions/${uuidv7()}/cost`)).statusCode).toBe(404);
    const other = await h.newTenant();
    const otherKey = await h.keyFor(['executions:read'], other);
    const mine = await seedExecution({
      tenant: h.tenantId,
      workflow: await createWorkflow('cost-404', h.adminKey),
      cost: '0.5',
      ago: HOUR,
    });
    expect(
      (await h.request('GET', `/api/executions/${mine}/cost`, { key: otherKey })).statusCode,
    ).toBe(404);
    expect((await h.request('GET', `/api/executions/${mine}/cost`)).statusCode).toBe(200);
  });

  it('needs executions:read', async () => {
    const key = await h.keyFor(['workflows:read']);
    expect((await h.request('GET', `/api/executions/${uuidv7()}/cost`, { key })).statusCode).toBe(
      403,
    );
    expect(
      (await h.request('GET', '/api/costs/report?period=day&group_by=workflow', { key }))
        .statusCode,
    ).toBe(403);
  });
});

interface SeedNode {
  node_id: string;
  type?: string;
  cost: string;
  attempts?: number;
  output_bytes?: number;
}

/**
 * Inserts a finished execution (and its node runs) with the given costs, `ago` ms before
 * now, and rolls it up.
 */
async function seedExecution(e: {
  tenant: string;
  workflow: string;
  cost: string;
  ago: number;
  nodes?: SeedNode[];
}): Promise<string> {
  const id = uuidv7();
  const at = new Date(Date.now() - e.ago);
  await h.db.pool.query(
    `insert into executions (id, tenant_id, workflow_id, workflow_version, status, priority, input_data, cost_total, created_at, started_at, finished_at, updated_at)
     values ($1, $2, $3, 1, 'success', 'normal', '{}', $4, $5, $5, $5, $5)`,
    [id, e.tenant, e.workflow, e.cost, at],
  );
  for (const n of e.nodes ?? [])
    await h.db.pool.query(
      `insert into node_runs (execution_id, node_id, type, status, attempts, output_bytes, usage, cost)
       values ($1, $2, $3, 'success', $4, $5, '{"wall_ms": 1}', $6)`,
      [id, n.node_id, n.type ?? 'http', n.attempts ?? 1, n.output_bytes ?? 0, n.cost],
    );
  // Inserted finished, not finished by the run store: roll it up as its terminal write would.
  await rollUpExecutions(h.db.pool, [id]);
  return id;
}

interface Report {
  period: string;
  group_by: string;
  scope: string;
  currency: string;
  groups: {
    key: { id: string; name: string };
    executions: number;
    total: string;
    average: string;
    p95: string;
  }[];
  top_nodes: {
    workflow: { id: string; name: string };
    node_id: string;
    type: string;
    total: string;
    runs: number;
  }[];
  suggestions: string[];
}

describe('GET /api/costs/report', () => {
  let tenantA: string;
  let tenantB: string;
  let keyA: string;
  let keyB: string;
  let cheap: string;
  let pricey: string;

  beforeAll(async () => {
    tenantA = await h.newTenant();
    tenantB = await h.newTenant();
    keyA = await h.keyFor(['executions:read', 'workflows:write'], tenantA);
    keyB = await h.keyFor(['executions:read', 'workflows:write'], tenantB);
    cheap = await createWorkflow('cheap', keyA);
    pricey = await createWorkflow('pricey', keyA);
    const other = await createWorkflow('other-tenant', keyB);
    // cheap: 10 runs in the last day costing 0.001 … 0.010; `fetch` is 90 % of each,
    // retried on 4 of 10 runs; `big` outputs 4 MiB each.
    for (let i = 1; i <= 10; i += 1) {
      const units = i * 100_000; // 1e-8 USD units
      await seedExecution({
        tenant: tenantA,
        workflow: cheap,
        cost: (units / 1e8).toFixed(8),
        ago: HOUR,
        nodes: [
          { node_id: 'fetch', cost: ((units * 0.9) / 1e8).toFixed(8), attempts: i <= 4 ? 2 : 1 },
          {
            node_id: 'big',
            type: 'transform',
            cost: ((units * 0.1) / 1e8).toFixed(8),
            output_bytes: 4 * 1024 * 1024,
          },
        ],
      });
    }
    // pricey: two runs of 0.1 in the last day, one 3 days ago, one 40 days ago.
    for (const ago of [HOUR, 2 * HOUR, 72 * HOUR, 40 * 24 * HOUR])
      await seedExecution({
        tenant: tenantA,
        workflow: pricey,
        cost: '0.10000000',
        ago,
        nodes: [{ node_id: 'call', cost: '0.10000000' }],
      });
    // tenant B: far more expensive, never in A's report.
    for (let i = 0; i < 3; i += 1)
      await seedExecution({
        tenant: tenantB,
        workflow: other,
        cost: '5.00000000',
        ago: HOUR,
        nodes: [{ node_id: 'x', cost: '5.00000000' }],
      });
  });

  const report = async (query: string, key: string): Promise<Report> => {
    const res = await h.request('GET', `/api/costs/report?${query}`, { key });
    expect(res.statusCode, query).toBe(200);
    return res.json<Report>();
  };

  it('groups a tenant’s executions by workflow over the day, ranked by total, with average and p95', async () => {
    const r = await report('period=day&group_by=workflow', keyA);
    expect(r).toMatchObject({
      period: 'day',
      group_by: 'workflow',
      scope: 'tenant',
      currency: 'USD',
    });
    expect(r.groups).toEqual([
      {
        key: { id: pricey, name: 'pricey' },
        executions: 2,
        total: '0.20000000',
        average: '0.10000000',
        p95: '0.10000000',
      },
      // p95 of 0.001 … 0.010 (percentile_cont): 0.001 + 0.95 × 9 × 0.001 = 0.00955
      {
        key: { id: cheap, name: 'cheap' },
        executions: 10,
        total: '0.05500000',
        average: '0.00550000',
        p95: '0.00955000',
      },
    ]);
    expect(r.top_nodes).toEqual([
      {
        workflow: { id: pricey, name: 'pricey' },
        node_id: 'call',
        type: 'http',
        total: '0.20000000',
        runs: 2,
      },
      {
        workflow: { id: cheap, name: 'cheap' },
        node_id: 'fetch',
        type: 'http',
        total: '0.04950000',
        runs: 10,
      },
      {
        workflow: { id: cheap, name: 'cheap' },
        node_id: 'big',
        type: 'transform',
        total: '0.00550000',
        runs: 10,
      },
    ]);
  });

  it('widens with the period: the week counts the 3-day-old run, the month not the 40-day-old one', async () => {
    const week = await report('period=week&group_by=workflow', keyA);
    expect(week.groups[0]).toMatchObject({
      key: { id: pricey },
      executions: 3,
      total: '0.30000000',
    });
    const month = await report('period=month&group_by=workflow', keyA);
    expect(month.groups[0]).toMatchObject({
      key: { id: pricey },
      executions: 3,
      total: '0.30000000',
    });
  });

  it('fires the rule-based suggestions with their numbers', async () => {
    const { suggestions } = await report('period=day&group_by=workflow', keyA);
    const wf = `workflow cheap (${cheap})`;
    expect(suggestions).toEqual(
      expect.arrayContaining([
        `node fetch of ${wf} is retried on 40 % of runs (4 of 10): check its target or its retry policy`,
        `node big's outputs in ${wf} average 4.0 MB over 10 runs: select only the fields later nodes use`,
        `node fetch is 90 % of ${wf}'s cost (0.04950000 USD over 10 runs)`,
      ]),
    );
    // pricey's `call` is 100 % of its workflow but over 2 runs only (< 10): no suggestion.
    expect(suggestions.join('\n')).not.toContain('node call');
    expect(suggestions).toHaveLength(3);
  });

  it('keeps tenants apart; an admin key reports every tenant', async () => {
    const b = await report('period=day&group_by=tenant', keyB);
    expect(b.scope).toBe('tenant');
    expect(b.groups).toEqual([
      {
        key: { id: tenantB, name: expect.any(String) },
        executions: 3,
        total: '15.00000000',
        average: '5.00000000',
        p95: '5.00000000',
      },
    ]);
    expect(JSON.stringify(b)).not.toContain(cheap);
    const all = await report('period=day&group_by=tenant', h.adminKey);
    expect(all.scope).toBe('all');
    const ours = all.groups.filter((g) => [tenantA, tenantB].includes(g.key.id));
    expect(ours.map((g) => [g.key.id, g.executions, g.total])).toEqual([
      [tenantB, 3, '15.00000000'],
      [tenantA, 12, '0.25500000'],
    ]);
    const totals = all.groups.map((g) => parseMoney(g.total));
    expect(totals).toEqual([...totals].sort((x, y) => (y > x ? 1 : y < x ? -1 : 0)));
  });

  it('refuses a bad period or group_by with 400 naming the field', async () => {
    for (const [query, field] of [
      ['period=year&group_by=workflow', 'period'],
      ['group_by=workflow', 'period'],
      ['period=day&group_by=node', 'group_by'],
      ['period=day', 'group_by'],
    ] as const) {
      const res = await h.request('GET', `/api/costs/report?${query}`, { key: keyA });
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(JSON.stringify(res.json()), query).toContain(field);
    }
  });
});

describe('cost routes: Postgres vanishes', () => {
  it('answers a problem (no hang, no partial report) while Postgres is unreachable, and 200 once it is back', async () => {
    // ARRANGE: a second API reaching Postgres through a proxy the test cuts.
    const proxy = await startTcpProxy(
      Number(new URL(testDatabaseUrl()).port || 5432),
      'postgresql',
    );
    const proxied = new URL(testDatabaseUrl());
    proxied.port = String(proxy.port);
    const cut = await createApiHarness({ databaseUrl: proxied.href });
    try {
      const url = '/api/costs/report?period=day&group_by=workflow';
      expect((await cut.request('GET', url)).statusCode).toBe(200);
      // ACT: Postgres is gone for this API
      await proxy.cut();
      const res = await cut.request('GET', url);
      // ASSERT: a problem+json error, not a report
      expect(res.statusCode).toBeGreaterThanOrEqual(500);
      expect(res.headers['content-type']).toContain('application/problem+json');
      const cost = await cut.request('GET', `/api/executions/${uuidv7()}/cost`);
      expect(cost.statusCode).toBeGreaterThanOrEqual(500);
      // Postgres is back: the report answers again
      await proxy.resume();
      await expect
        .poll(async () => (await cut.request('GET', url)).statusCode, { timeout: 15_000 })
        .toBe(200);
    } finally {
      await proxy.cut().catch(() => undefined);
      await cut.close();
    }
  }, 60_000);
});
