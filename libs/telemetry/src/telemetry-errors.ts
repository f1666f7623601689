import { AppError } from '@linkflow/domain';

/**
 * Catalog of telemetry-layer errors. Each call builds a fresh instance (never reuse one).
 *
 * Codes:
 * - `INVALID_LOGGER_OPTIONS` (user): the logger cannot be built as asked.
 * - `INVALID_OTLP_ENDPOINT` (user): the OTLP endpoint is not an http(s) URL.
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
};
