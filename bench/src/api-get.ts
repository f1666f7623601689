import autocannon from 'autocannon';
import { BenchError } from './bench-error.ts';

export interface ApiGetResult {
  readonly rps: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
}

export interface ApiGetRequest {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly executionId: string;
  readonly connections: number;
  readonly seconds: number;
}

/**
 * autocannon against `GET /api/executions/:id`; requests/s is autocannon's per-second average.
 * @throws BenchError when any answer is not 2xx or a request errored
 */
export async function runApiGet(req: ApiGetRequest): Promise<ApiGetResult> {
  const result = await autocannon({
    url: `${req.apiUrl}/api/executions/${req.executionId}`,
    connections: req.connections,
    duration: req.seconds,
    headers: { authorization: `Bearer ${req.apiKey}` },
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new BenchError(
      `GET /api/executions/:id: ${result.non2xx} non-2xx answers and ${result.errors} errors`,
    );
  }
  return {
    rps: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}
