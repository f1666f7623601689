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
  /** Executions to read, in turn (distinct ids, so concurrent reads are not of one row). */
  readonly executionIds: readonly string[];
  readonly connections: number;
  readonly seconds: number;
}

/**
 * autocannon against `GET /api/executions/:id`, each request for the next of `executionIds`
 * (so concurrent requests read different executions: the API shares one row between
 * concurrent reads of the same execution, which one id would flatter); requests/s is
 * autocannon's per-second average.
 * @throws BenchError when any answer is not 2xx or a request errored
 */
export async function runApiGet(req: ApiGetRequest): Promise<ApiGetResult> {
  const ids = req.executionIds;
  if (ids.length === 0) throw new BenchError('GET /api/executions/:id: no execution to read');
  let next = 0;
  const result = await autocannon({
    url: `${req.apiUrl}/api/executions/${ids[0]}`,
    connections: req.connections,
    duration: req.seconds,
    headers: { authorization: `Bearer ${req.apiKey}` },
    requests: [
      {
        method: 'GET',
        setupRequest: (request: { path?: string }) => ({
          ...request,
          path: `/api/executions/${ids[next++ % ids.length]}`,
        }),
      },
    ],
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
