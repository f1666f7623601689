import { AppError } from '@linkflow/domain';

/**
 * Catalog of telemetry-layer errors. Each call builds a fresh instance (never reuse one).
 *
 * Codes:
 * - `INVALID_LOGGER_OPTIONS` (user): the logger cannot be built as asked.
 * - `INVALID_OTLP_ENDPOINT` (user): the OTLP endpoint is not an http(s) URL.
 * - `METRICS_SOURCE_TIMEOUT` (unavailable): a value read at scrape time (queue counts) did not
 *   arrive in time; the scrape answers without it.
 * - `CLUSTER_METRICS_FAILED` (unavailable): the cluster primary could not collect its workers'
 *   metrics.
 */
export const telemetryErrors = {
  invalidLoggerOptions: (reason: string, cause?: unknown) =>
    new AppError('INVALID_LOGGER_OPTIONS', `logger options are invalid: ${reason}`, {
      kind: 'user',
      ...(cause === undefined ? {} : { cause }),
    }),
  invalidOtlpEndpoint: (endpoint: string) =>
    new AppError('INVALID_OTLP_ENDPOINT', 'OTLP endpoint must be an http(s) URL', {
      kind: 'user',
      details: { endpoint },
    }),
  metricsSourceTimeout: (source: string, timeoutMs: number) =>
    new AppError('METRICS_SOURCE_TIMEOUT', `${source} did not answer within ${timeoutMs} ms`, {
      kind: 'unavailable',
      retryable: true,
      details: { source, timeoutMs },
    }),
  clusterMetricsFailed: (reason: string) =>
    new AppError(
      'CLUSTER_METRICS_FAILED',
      `the workers' metrics could not be collected: ${reason}`,
      {
        kind: 'unavailable',
        retryable: true,
      },
    ),
};
