import { Pool } from 'undici';
import { BenchError } from './bench-error.ts';

/** The few LinkFlow API calls the scenarios make, over one keep-alive undici pool. */
export interface ApiClient {
  createWorkflow(definition: unknown): Promise<string>;
  /** POST /api/executions; resolves with the execution id once the API answered 202. */
  startExecution(workflowId: string, input: unknown): Promise<string>;
  /** POST /api/executions/:id/cancel; 200 (cancelled) and 409 (already terminal) are fine. */
  cancelExecution(executionId: string): Promise<void>;
  close(): Promise<void>;
}

async function send(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await pool.request({
    method: 'POST',
    path,
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep the text for the error message
  }
  return { status: res.statusCode, json };
}

function idOf(json: unknown, what: string, status: number): string {
  const id = typeof json === 'object' && json !== null ? (json as { id?: unknown }).id : undefined;
  if (typeof id !== 'string') {
    throw new BenchError(`${what}: unexpected answer ${status} ${JSON.stringify(json)}`);
  }
  return id;
}

/** A client with up to `connections` keep-alive sockets to `apiUrl`. */
export function createApiClient(apiUrl: string, apiKey: string, connections: number): ApiClient {
  const pool = new Pool(apiUrl, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { authorization: `Bearer ${apiKey}` };
  return {
    async createWorkflow(definition) {
      const { status, json } = await send(pool, '/api/workflows', headers, definition);
      if (status !== 201)
        throw new BenchError(`create workflow: ${status} ${JSON.stringify(json)}`);
      return idOf(json, 'create workflow', status);
    },
    async startExecution(workflowId, input) {
      const body = { workflow_id: workflowId, input_data: input };
      const { status, json } = await send(pool, '/api/executions', headers, body);
      if (status !== 202)
        throw new BenchError(`start execution: ${status} ${JSON.stringify(json)}`);
      return idOf(json, 'start execution', status);
    },
    async cancelExecution(executionId) {
      const { status, json } = await send(
        pool,
        `/api/executions/${executionId}/cancel`,
        headers,
        {},
      );
      if (status !== 200 && status !== 409)
        throw new BenchError(`cancel execution: ${status} ${JSON.stringify(json)}`);
    },
    close: () => pool.close(),
  };
}

/**
 * Runs `task(0) … task(total - 1)` with `clients` loops working at once, each taking the
 * next index as soon as its previous task finished (closed-loop clients).
 */
export async function runConcurrently(
  total: number,
  clients: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < total) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(clients, total) }, loop));
}
