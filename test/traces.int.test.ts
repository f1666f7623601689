import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminKeyOn,
  api,
  freePort,
  startApp,
  stopApp,
  waitReady,
  waitUntil,
  type AppProcess,
} from './app-processes.ts';
import { serviceEnv, testDatabaseUrl } from './fixtures.ts';
import { startTestServer, type TestServer } from './http-test-server.ts';
import {
  isAncestor,
  startOtlpCollector,
  type CollectedSpan,
  type OtlpCollector,
} from './otlp-collector.ts';

// One trace across both processes: the API (child process) receives POST /api/executions,
// the executor (another child) runs the job; both export OTLP/HTTP JSON to a collector here.
// The same run checks that secrets in node configs and connection URLs reach no log line,
// stored log, node output or span.

const TOKEN = 's3cr3t-t0ken-value';
const API_KEY_HEADER = 'k3y-h3ader-value';
const DB_PASSWORD = 'db-pa55word-value';
const SECRETS = [TOKEN, API_KEY_HEADER, DB_PASSWORD];

let collector: OtlpCollector;
let srv: TestServer;
let apiApp: AppProcess;
let executor: AppProcess;
let base: string;
let key: string;
let closeKeys: () => Promise<void>;

beforeAll(async () => {
  collector = await startOtlpCollector();
  srv = await startTestServer();
  const admin = await adminKeyOn(testDatabaseUrl());
  key = admin.key;
  closeKeys = admin.close;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // Trust authentication ignores the password: the URL carries one all the same.
  const withPassword = new URL(testDatabaseUrl());
  withPassword.username = 'postgres';
  withPassword.password = DB_PASSWORD;
  const env = {
    ...serviceEnv(port),
    LINKFLOW_HTTP_ALLOW: '127.0.0.1',
    LINKFLOW_DB_CONNECTIONS: JSON.stringify({ main: withPassword.href }),
    LINKFLOW_DB_ALLOW_PRIVILEGED: '1',
    EXECUTOR_METRICS_PORT: '0',
    EXECUTOR_RECONCILE_INTERVAL_MS: '86400000',
    LOG_LEVEL: 'debug',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    // Export every 100 ms instead of every 5 s.
    OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  apiApp = startApp('api', env);
  executor = startApp('executor', env);
  await waitReady(base, apiApp);
});

afterAll(async () => {
  await Promise.all([apiApp, executor].filter(Boolean).map((app) => stopApp(app)));
  await closeKeys?.();
  await srv?.close();
  await collector?.close();
});

const attr = (s: CollectedSpan, name: string) => s.attributes[name];

async function runWorkflow(): Promise<{ id: string; workflowId: string }> {
  //  fetch (http, 503 once then 200; retried) ──▶ echo (http, answers its headers)
  //    ──▶ save (db, on a connection whose URL has a password) ──▶ shape (transform)
  const headers = { Authorization: `Bearer ${TOKEN}`, 'X-Api-Key': API_KEY_HEADER };
  const workflow = await api(base, key, 'POST', '/api/workflows', {
    name: 'traced',
    nodes: [
      {
        id: 'fetch',
        type: 'http',
        config: { url: `${srv.url}/flaky/${randomUUID()}?fails=1`, headers },
        retry: { backoff: 'fixed', max_attempts: 2, initial_delay_ms: 10 },
      },
      { id: 'echo', type: 'http', config: { url: `${srv.url}/echo`, headers } },
      {
        id: 'save',
        type: 'db',
        config: {
          connection: 'main',
          query: 'select $1::int as n',
          params: ['{{ nodes.fetch.body.n }}'],
        },
      },
      { id: 'shape', type: 'transform', config: { expression: '{ "n": nodes.save.rows[0].n }' } },
    ],
    edges: [
      { from: 'fetch', to: 'echo' },
      { from: 'echo', to: 'save' },
      { from: 'save', to: 'shape' },
    ],
  });
  expect(workflow.status).toBe(201);
  const workflowId = String(workflow.body['id']);
  const started = await api(base, key, 'POST', '/api/executions', {
    workflow_id: workflowId,
    input_data: {},
  });
  expect(started.status).toBe(202);
  const id = String(started.body['id']);
  await waitUntil(
    `execution ${id} succeeds`,
    async () => (await api(base, key, 'GET', `/api/executions/${id}`)).body['status'],
    (status) => status === 'success',
  );
  return { id, workflowId };
}

/** The execution's spans once its run span and every node attempt span were exported. */
async function spansOf(executionId: string): Promise<CollectedSpan[]> {
  const mine = (s: CollectedSpan) => attr(s, 'linkflow.execution.id') === executionId;
  await waitUntil(
    'the run span and the five node attempt spans are exported',
    () => collector.spans.filter(mine).map((s) => s.name),
    (names) => names.includes('linkflow.execution') && names.length >= 6,
    15_000,
  );
  const run = collector.spans.find((s) => mine(s) && s.name === 'linkflow.execution');
  // The API's spans are exported on their own schedule: wait for the request's server span.
  await waitUntil(
    'the API request span is exported',
    () => collector.spans.filter((s) => s.traceId === run?.traceId && s.service === 'linkflow-api'),
    (api) => api.some((s) => s.kind === 2),
    15_000,
  );
  return collector.spans.filter((s) => s.traceId === run?.traceId);
}

describe('one trace from the API request to every node attempt', () => {
  let execution: { id: string; workflowId: string };
  let spans: CollectedSpan[];

  beforeAll(async () => {
    execution = await runWorkflow();
    spans = await spansOf(execution.id);
  }, 90_000);

  it('shares one trace id across the API server span, the run span and the node spans', () => {
    const server = spans.find(
      (s) =>
        s.service === 'linkflow-api' &&
        s.kind === 2 &&
        String(attr(s, 'http.route') ?? attr(s, 'url.path') ?? attr(s, 'http.target')).includes(
          '/api/executions',
        ),
    );
    const run = spans.find((s) => s.name === 'linkflow.execution');
    const nodes = spans.filter((s) => s.name.startsWith('linkflow.node'));
    expect(server, JSON.stringify(spans.map((s) => [s.service, s.name, s.kind]))).toBeDefined();
    expect(run?.service).toBe('linkflow-executor');
    expect(run?.kind).toBe(5);
    expect(new Set([server, run, ...nodes].map((s) => s?.traceId)).size).toBe(1);
    for (const node of nodes) {
      expect(isAncestor(spans, server!, node)).toBe(true);
      expect(node.parentSpanId).toBe(run?.spanId);
    }
    expect(run?.attributes).toMatchObject({
      'linkflow.workflow.id': execution.workflowId,
      'linkflow.workflow.version': 1,
      'linkflow.execution.attempt': 1,
      'linkflow.status': 'success',
    });
    expect(Number(attr(run!, 'linkflow.cost_usd'))).toBeGreaterThan(0);
  });

  it('gives every node attempt its own span with its attributes; a retried node has one per attempt', () => {
    const nodes = spans
      .filter((s) => s.name.startsWith('linkflow.node'))
      .map((s) => ({
        name: s.name,
        node: attr(s, 'linkflow.node.id'),
        type: attr(s, 'linkflow.node.type'),
        attempt: attr(s, 'linkflow.attempt'),
        status: attr(s, 'linkflow.status'),
        error: attr(s, 'linkflow.error.type'),
        code: s.status.code,
        workflow: attr(s, 'linkflow.workflow.id'),
        cost: Number(attr(s, 'linkflow.cost_usd')),
      }))
      .sort((a, b) =>
        `${String(a.node)}${String(a.attempt)}`.localeCompare(
          `${String(b.node)}${String(b.attempt)}`,
        ),
      );
    const w = execution.workflowId;
    expect(nodes.map(({ cost, ...rest }) => (expect(cost).toBeGreaterThan(0), rest))).toEqual([
      {
        name: 'linkflow.node http',
        node: 'echo',
        type: 'http',
        attempt: 1,
        status: 'success',
        error: undefined,
        code: 0,
        workflow: w,
      },
      {
        name: 'linkflow.node http',
        node: 'fetch',
        type: 'http',
        attempt: 1,
        status: 'failed',
        error: 'EXECUTION',
        code: 2,
        workflow: w,
      },
      {
        name: 'linkflow.node http',
        node: 'fetch',
        type: 'http',
        attempt: 2,
        status: 'success',
        error: undefined,
        code: 0,
        workflow: w,
      },
      {
        name: 'linkflow.node db',
        node: 'save',
        type: 'db',
        attempt: 1,
        status: 'success',
        error: undefined,
        code: 0,
        workflow: w,
      },
      {
        name: 'linkflow.node transform',
        node: 'shape',
        type: 'transform',
        attempt: 1,
        status: 'success',
        error: undefined,
        code: 0,
        workflow: w,
      },
    ]);
  });

  it("nests the node clients' http and pg spans under their node attempt", () => {
    const nodeSpan = (id: string) =>
      spans.filter((s) => attr(s, 'linkflow.node.id') === id).map((s) => s.spanId);
    const clientUnder = (ids: string[]) =>
      spans.filter(
        (s) => s.kind === 3 && s.parentSpanId !== undefined && ids.includes(s.parentSpanId),
      );
    // both fetch attempts made a request; echo made one
    expect(
      clientUnder(nodeSpan('fetch')).filter((s) => s.attributes['http.request.method'] === 'GET'),
    ).toHaveLength(2);
    expect(clientUnder(nodeSpan('echo'))).toHaveLength(1);
    expect(
      clientUnder(nodeSpan('save')).some(
        (s) => attr(s, 'db.system') === 'postgresql' || attr(s, 'db.system.name') === 'postgresql',
      ),
    ).toBe(true);
  });

  it("puts the execution id, the node id and the trace id on the executor's pino lines", () => {
    const traceId = spans[0]?.traceId;
    const lines = executor.json().filter((l) => l['executionId'] === execution.id);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line['trace_id'], JSON.stringify(line)).toBe(traceId);
    const nodeIds = new Set(lines.map((l) => l['nodeId']).filter(Boolean));
    expect([...nodeIds].sort()).toEqual(['echo', 'fetch', 'save', 'shape']);
    expect(
      lines.some((l) => l['msg'] === 'node attempt failed; retrying' && l['nodeId'] === 'fetch'),
    ).toBe(true);
  });

  it('keeps header secrets, the connection password and the API key out of logs, outputs, pino lines and spans', async () => {
    const logs = await api(base, key, 'GET', `/api/executions/${execution.id}/logs`);
    const detail = await api(base, key, 'GET', `/api/executions/${execution.id}`);
    expect(logs.status).toBe(200);
    // the echo node's output is there, with the echoed secrets replaced
    const echo = (
      detail.body['node_runs'] as {
        node_id: string;
        output: { body: { headers: Record<string, string> } };
      }[]
    ).find((r) => r.node_id === 'echo');
    expect(echo?.output.body.headers['authorization']).toBe('[redacted]');
    expect(echo?.output.body.headers['x-api-key']).toBe('[redacted]');
    const places = {
      storedLogs: logs.text,
      execution: detail.text,
      apiPino: apiApp.lines.join('\n'),
      executorPino: executor.lines.join('\n'),
      spans: collector.bodies.join('\n'),
    };
    for (const [place, text] of Object.entries(places))
      for (const secret of [...SECRETS, key])
        expect(text.includes(secret), `${secret} in ${place}`).toBe(false);
  });

  it('runs a code node in both processes started with --import instrumentation', async () => {
    // The API checks the code at create time and the executor runs it, each in a sandbox
    // worker thread; a worker that inherited the `--import ….ts` flags died on start.
    const workflow = await api(base, key, 'POST', '/api/workflows', {
      name: 'traced-code',
      nodes: [{ id: 'calc', type: 'code', config: { source: 'return { n: 6 * 7 }' } }],
    });
    expect(workflow.status).toBe(201);
    const started = await api(base, key, 'POST', '/api/executions', {
      workflow_id: String(workflow.body['id']),
      input_data: {},
    });
    expect(started.status).toBe(202);
    const id = String(started.body['id']);
    const status = await waitUntil(
      `execution ${id} ends`,
      async () => (await api(base, key, 'GET', `/api/executions/${id}`)).body['status'],
      (s) => s === 'success' || s === 'failed',
      20_000,
    );
    expect(status).toBe('success');
  });
});
