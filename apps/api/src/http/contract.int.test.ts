import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHarness, type ApiHarness } from '../testing/api-harness.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness();
});
afterAll(async () => h.close());

interface OpenApiResponse {
  description?: string;
  content?: Record<string, { schema?: Record<string, unknown> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, OpenApiResponse> }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

/** The success status each route answers (docs/api.md). */
const SUCCESS: Record<string, string[]> = {
  'POST /api/workflows': ['201'],
  'GET /api/workflows': ['200'],
  'GET /api/workflows/{id}': ['200'],
  'PUT /api/workflows/{id}': ['200'],
  'PUT /api/workflows/{id}/retry': ['200'],
  'DELETE /api/workflows/{id}': ['204'],
  'GET /api/node-types': ['200'],
  'POST /api/executions': ['200', '202'],
  'GET /api/executions': ['200'],
  'GET /api/executions/{id}': ['200'],
  'POST /api/executions/{id}/cancel': ['200'],
  'PUT /api/executions/{id}/timeout': ['200'],
  'GET /api/executions/{id}/logs': ['200'],
  'GET /api/admin/queue/status': ['200'],
  'POST /api/admin/queue/pause': ['200'],
  'POST /api/admin/queue/resume': ['200'],
  'GET /api/admin/workers': ['200'],
  'GET /api/admin/breakers': ['200'],
  'GET /api/admin/dlq': ['200'],
  'POST /api/admin/dlq/{execution_id}/replay': ['202'],
  'DELETE /api/admin/dlq/{execution_id}': ['204'],
  'GET /api/executions/{id}/metrics': ['200'],
  'GET /api/executions/{id}/checkpoints': ['200'],
  'POST /api/executions/{id}/checkpoint': ['200'],
  'POST /api/executions/{id}/recover': ['202'],
  'POST /api/executions/{id}/test-retry': ['200'],
  'GET /api/executions/{id}/cost': ['200'],
  'GET /api/costs/report': ['200'],
  'POST /api/credentials': ['201'],
  'GET /api/credentials': ['200'],
  'GET /api/credentials/{name}': ['200'],
  'PUT /api/credentials/{name}': ['200'],
  'DELETE /api/credentials/{name}': ['204'],
};

/** Routes whose body is a JSON array by contract (every other body is an object). */
const ARRAY_BODIES = new Set(['GET /api/admin/workers', 'GET /api/admin/breakers']);

async function openApi(): Promise<OpenApiDocument> {
  const res = await h.request('GET', '/docs/json', { key: null });
  expect(res.statusCode).toBe(200);
  return res.json<OpenApiDocument>();
}

function operations(doc: OpenApiDocument) {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({
      route: `${method.toUpperCase()} ${path}`,
      responses: op.responses,
    })),
  );
}

describe('OpenAPI document', () => {
  it('lists every API route', async () => {
    const routes = operations(await openApi()).map((op) => op.route);

    expect(routes.sort()).toEqual(Object.keys(SUCCESS).sort());
  });

  it('declares each success response with its JSON schema (204 without a body)', async () => {
    for (const { route, responses } of operations(await openApi())) {
      const success = Object.keys(responses).filter((status) => status.startsWith('2'));
      expect(success.sort(), route).toEqual(SUCCESS[route]);
      for (const status of success) {
        const response = responses[status] as OpenApiResponse;
        expect(response.description, `${route} ${status}`).not.toBe('Default Response');
        if (status === '204') {
          expect(response.content, route).toBeUndefined();
          continue;
        }
        expect(Object.keys(response.content ?? {}), `${route} ${status}`).toEqual([
          'application/json',
        ]);
        expect(response.content?.['application/json']?.schema?.['type'], route).toBe(
          ARRAY_BODIES.has(route) ? 'array' : 'object',
        );
      }
    }
  });

  it('types every problem response as application/problem+json with the Problem schema', async () => {
    const doc = await openApi();
    expect(doc.components.schemas['Problem']?.properties).toHaveProperty('detail');
    for (const { route, responses } of operations(doc)) {
      const problems = Object.keys(responses).filter((status) => /^[45]/.test(status));
      expect(problems, route).toEqual(expect.arrayContaining(['401', '403', '500']));
      for (const status of problems) {
        expect(responses[status]?.content, `${route} ${status}`).toEqual({
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        });
      }
    }
  });

  it('describes the execution a start answers with its fields', async () => {
    const doc = await openApi();
    const schema = doc.paths['/api/executions']?.['post']?.responses['202']?.content?.[
      'application/json'
    ]?.schema as { required?: string[] };

    expect(schema.required).toEqual(
      expect.arrayContaining(['id', 'status', 'priority', 'node_runs', 'transitions', 'cost']),
    );
  });
});

describe('OpenAPI: execution metrics', () => {
  it('describes GET /api/executions/{id}/metrics with nullable timings', async () => {
    const doc = await openApi();
    const schema = doc.paths['/api/executions/{id}/metrics']?.['get']?.responses['200']?.content?.[
      'application/json'
    ]?.schema as { required?: string[]; properties?: Record<string, { type?: unknown }> };
    expect(schema.required).toEqual(
      expect.arrayContaining(['queue_wait_ms', 'duration_ms', 'total_ms', 'nodes', 'cost']),
    );
    expect(schema.properties?.['queue_wait_ms']?.type).toEqual(['integer', 'null']);
  });
});

describe('GET /metrics on the API', () => {
  it('exports what the API measures (HTTP, queues, process) and no execution metric', async () => {
    await h.request('GET', '/api/workflows');
    const text = (await h.request('GET', '/metrics', { key: null })).body;
    const names = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);

    expect(names).toEqual(
      expect.arrayContaining([
        'linkflow_http_requests_total',
        'linkflow_http_request_duration_seconds',
        'linkflow_queue_jobs',
        'linkflow_dlq_size',
        'process_cpu_user_seconds_total',
        'nodejs_eventloop_lag_seconds',
      ]),
    );
    for (const executorOnly of [
      'linkflow_executions_started_total',
      'linkflow_executions_finished_total',
      'linkflow_executions_active',
      'linkflow_execution_duration_seconds',
      'linkflow_node_duration_seconds',
      'linkflow_node_retries_total',
      'linkflow_circuit_breaker_state',
      'linkflow_circuit_breaker_transitions_total',
      'linkflow_execution_cost_usd_total',
    ])
      expect(names).not.toContain(executorOnly);
  });
});
