import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../apps/api/src/testing/api-harness.ts';
import {
  createExecutorHarness,
  n,
  type ExecutorHarness,
} from '../apps/executor/src/testing/executor-harness.ts';
import { startTestServer, type TestServer } from './http-test-server.ts';

/*
 * One real run through both processes: the API (harness, in process) takes the POST and
 * enqueues; an executor (harness, real BullMQ worker) runs it on the same queue.
 *
 *   fetch (http, fails once, retried) ──▶ double (transform)
 */

/** What each process exports, with its type (README: Metrics and dashboards). */
const QUEUE = { linkflow_queue_jobs: 'gauge', linkflow_dlq_size: 'gauge' };
const PROCESS = {
  process_cpu_user_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_eventloop_lag_p99_seconds: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
};
const EXECUTOR_EXPORTS = {
  linkflow_executions_started_total: 'counter',
  linkflow_executions_finished_total: 'counter',
  linkflow_executions_active: 'gauge',
  linkflow_execution_duration_seconds: 'histogram',
  linkflow_node_duration_seconds: 'histogram',
  linkflow_node_retries_total: 'counter',
  linkflow_circuit_breaker_state: 'gauge',
  linkflow_circuit_breaker_transitions_total: 'counter',
  linkflow_execution_cost_usd_total: 'counter',
  ...QUEUE,
  ...PROCESS,
};
const API_EXPORTS = {
  linkflow_http_requests_total: 'counter',
  linkflow_http_request_duration_seconds: 'histogram',
  ...QUEUE,
  ...PROCESS,
};

const WORKFLOW = 'metrics-flow';

const typesIn = (text: string) =>
  Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;

function promtoolCheck(text: string) {
  return spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
}

/** Polls the execution through the API until it is terminal (fails loudly after 15 s). */
async function waitForTerminal(id: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status: string = (await api.request('GET', `/api/executions/${id}`)).json().status;
    if (['success', 'failed', 'cancelled'].includes(status)) return status;
    if (Date.now() > deadline) throw new TypeError(`execution ${id} still ${status} after 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let srv: TestServer;
let ex: ExecutorHarness;
let api: ApiHarness;
let metricsPort: number;
let executionId: string;
let workflowId: string;

beforeAll(async () => {
  srv = await startTestServer();
  ex = await createExecutorHarness();
  metricsPort = await freePort();
  await ex.startExecutor({ EXECUTOR_METRICS_PORT: String(metricsPort) });
  api = await createApiHarness({ queueName: ex.queueName });
  const wf = await api.request('POST', '/api/workflows', {
    body: {
      name: WORKFLOW,
      nodes: [
        n.http('fetch', `${srv.url}/flaky/metrics?fails=1`, {
          retry: { max_attempts: 2, initial_delay_ms: 10 },
        }),
        n.transform('double', '{ "n": nodes.fetch.body.n * 2 }'),
      ],
      edges: [{ from: 'fetch', to: 'double' }],
    },
  });
  expect(wf.statusCode).toBe(201);
  workflowId = wf.json().id;
  const started = await api.request('POST', '/api/executions', {
    body: { workflow_id: workflowId },
    headers: { 'x-priority': 'high' },
  });
  expect(started.statusCode).toBe(202);
  executionId = started.json().id;
  expect(await waitForTerminal(executionId)).toBe('success');
});

afterAll(async () => {
  await api?.close();
  await ex?.close();
  await srv?.close();
});

const executorText = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
/** The API's /metrics as an operator (admin key) scrapes it, or without a key. */
const apiText = async (key?: null) =>
  (await api.request('GET', '/metrics', key === null ? { key } : {})).body;

describe('/metrics after a real run', () => {
  it('the executor exports every name it measures, with its type, and moved', async () => {
    const text = await executorText();
    expect(typesIn(text)).toMatchObject(EXECUTOR_EXPORTS);
    expect(text).toContain(
      `linkflow_executions_started_total{workflow="${WORKFLOW}",priority="high"} 1`,
    );
    expect(text).toContain('linkflow_executions_finished_total{status="success"} 1');
    expect(text).toContain('linkflow_execution_duration_seconds_count{status="success"} 1');
    expect(text).toContain('linkflow_node_retries_total{type="http"} 1');
    expect(text).toContain('linkflow_node_duration_seconds_count{type="http",status="failed"} 1');
    expect(text).toContain('linkflow_node_duration_seconds_count{type="http",status="success"} 1');
    expect(text).toContain(`linkflow_circuit_breaker_state{target="${new URL(srv.url).host}"} 0`);
    const cost = text.match(
      new RegExp(`^linkflow_execution_cost_usd_total\\{workflow="${WORKFLOW}"\\} (\\S+)$`, 'm'),
    );
    expect(Number(cost?.[1])).toBeGreaterThan(0);
    expect(text).toContain('linkflow_executions_active 0');
    expect(text).toContain(
      `linkflow_queue_jobs{queue="${ex.queueName}",state="waiting",priority="high"} 0`,
    );
    expect(text).toMatch(/^linkflow_dlq_size 0$/m);
  });

  it('the API exports its HTTP, queue and process metrics and the executors’ merged', async () => {
    const text = await apiText();
    expect(typesIn(text)).toMatchObject({ ...API_EXPORTS, ...EXECUTOR_EXPORTS });
    expect(text).toContain(
      'linkflow_http_requests_total{method="POST",route="/api/executions",status="202"} 1',
    );
    expect(text).toContain(
      `linkflow_executions_started_total{workflow="${WORKFLOW}",priority="high"} 1`,
    );
    expect(text).toContain('linkflow_executions_finished_total{status="success"} 1');
    expect(text).toContain('linkflow_node_retries_total{type="http"} 1');
    expect(text).toContain(`linkflow_circuit_breaker_state{target="${new URL(srv.url).host}"} 0`);
    expect(text).toMatch(/^linkflow_dlq_size 0$/m);
    // One HELP and TYPE per name: the API's own and the executors' never overlap.
    expect(text.match(/^# TYPE linkflow_dlq_size /gm)).toHaveLength(1);
  });

  it('the API shows the executors’ metrics to operators only (they name tenants’ workflows)', async () => {
    const types = typesIn(await apiText(null));
    expect(types).toMatchObject(API_EXPORTS);
    for (const name of Object.keys(EXECUTOR_EXPORTS).filter((k) => !(k in API_EXPORTS)))
      expect(types).not.toHaveProperty(name);
    const tenantKey = await api.keyFor(['executions:read', 'workflows:read']);
    const asTenant = (await api.request('GET', '/metrics', { key: tenantKey })).body;
    expect(asTenant).not.toContain('linkflow_executions_started_total');
    const badKey = await api.request('GET', '/metrics', { key: 'lf_not_a_key' });
    expect(badKey.statusCode).toBe(200);
    expect(badKey.body).not.toContain(WORKFLOW);
  });

  it('the API counts a run that just ended at once (asks the executors, no heartbeat wait)', async () => {
    const started = await api.request('POST', '/api/executions', {
      body: { workflow_id: workflowId },
    });
    expect(await waitForTerminal(started.json().id)).toBe('success');
    expect(await apiText()).toContain('linkflow_executions_finished_total{status="success"} 2');
  });

  it('both outputs pass promtool check metrics', async (ctx) => {
    if (!promtool) ctx.skip('promtool is not installed (Debian package `prometheus` ships it)');
    for (const [name, text] of [
      ['executor', await executorText()],
      ['api', await apiText()],
      ['api without a key', await apiText(null)],
    ] as const) {
      const res = promtoolCheck(text);
      expect({ name, status: res.status, out: res.stdout + res.stderr }).toEqual({
        name,
        status: 0,
        out: '',
      });
    }
  });
});

describe('GET /api/executions/:id/metrics', () => {
  it('answers node durations, attempts, retries, queue wait, duration and cost after a run', async () => {
    const res = await api.request('GET', `/api/executions/${executionId}/metrics`);
    expect(res.statusCode).toBe(200);
    const m = res.json();
    const detail = (await api.request('GET', `/api/executions/${executionId}`)).json();
    expect(m).toMatchObject({
      execution_id: executionId,
      status: 'success',
      created_at: detail.created_at,
      started_at: detail.started_at,
      finished_at: detail.finished_at,
      attempts: 3,
      retries: 1,
      cost: detail.cost,
    });
    const at = (iso: string) => new Date(iso).getTime();
    expect(m.queue_wait_ms).toBe(at(detail.started_at) - at(detail.created_at));
    expect(m.duration_ms).toBe(at(detail.finished_at) - at(detail.started_at));
    expect(m.total_ms).toBe(m.queue_wait_ms + m.duration_ms);
    expect(m.nodes).toEqual([
      expect.objectContaining({
        node_id: 'fetch',
        type: 'http',
        status: 'success',
        attempts: 2,
        retries: 1,
      }),
      expect.objectContaining({ node_id: 'double', type: 'transform', attempts: 1, retries: 0 }),
    ]);
    for (const node of m.nodes) expect(node.duration_ms).toEqual(expect.any(Number));
    expect(Number(m.cost.total)).toBeGreaterThan(0);
  });

  it('shows nulls for a pending execution', async () => {
    const wf = await ex.createWorkflow({ name: 'waiting', nodes: [n.transform('a', '1')] });
    const id = await ex.start(wf, {}, { enqueue: false });
    const key = await api.keyFor(['executions:read'], ex.tenantId);
    const res = await api.request('GET', `/api/executions/${id}/metrics`, { key });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'pending',
      started_at: null,
      finished_at: null,
      queue_wait_ms: null,
      duration_ms: null,
      total_ms: null,
      attempts: 0,
      retries: 0,
      nodes: [],
      cost: { total: '0.00000000', currency: 'USD' },
    });
  });

  it("answers 404 for another tenant's execution, 400 for a malformed id, 403 without the scope", async () => {
    const stranger = await api.keyFor(['admin'], await api.newTenant());
    const other = await api.request('GET', `/api/executions/${executionId}/metrics`, {
      key: stranger,
    });
    expect(other.statusCode).toBe(404);
    expect(other.headers['content-type']).toContain('application/problem+json');
    // Not valid UTF-8 once decoded: no id can be that (other routes answer the same).
    const bad = await api.request('GET', '/api/executions/%ED%A0%80/metrics');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    const nul = await api.request('GET', `/api/executions/${executionId}%00/metrics`);
    expect(nul.statusCode).toBe(404);
    const reader = await api.keyFor(['workflows:read']);
    const denied = await api.request('GET', `/api/executions/${executionId}/metrics`, {
      key: reader,
    });
    expect(denied.statusCode).toBe(403);
  });
});
