import { readFileSync } from 'node:fs';
import {
  ConfigError,
  loadEnvConfig,
  parseSharedConfig,
  type Env,
  type SharedConfig,
} from '@linkflow/domain';

export { ConfigError };

/** The API's configuration, parsed once at start-up and frozen. */
export interface ApiConfig extends SharedConfig {
  readonly port: number;
  readonly host: string;
  readonly bodyLimit: number;
  readonly ws: WsConfig;
  /**
   * API processes serving the port (`node:cluster`; 1: this process alone). Each worker has
   * its own Postgres pool, Redis connections and key cache; `/metrics` merges all of them.
   */
  readonly workers: number;
}

/** The live log stream (`WS /api/executions/:id/logs/stream`). */
export interface WsConfig {
  /** Browser origins allowed to open a stream (`*`: any); requests without Origin always pass. */
  readonly allowedOrigins: readonly string[];
  /** Bytes a socket may hold unsent before the stream waits for the client to read. */
  readonly maxBufferedBytes: number;
  /** How long a stream waits for a client over `maxBufferedBytes` before closing it (1008). */
  readonly drainTimeoutMs: number;
  /** Period of the Postgres check per streamed execution (status, missed entries). */
  readonly checkIntervalMs: number;
  /** Streams one tenant may hold open on this process; more are refused with 429. */
  readonly maxStreamsPerTenant: number;
}

/**
 * Parses the API's environment. Reports every issue at once in a ConfigError.
 * @throws ConfigError
 */
export function loadConfig(env: Env): ApiConfig {
  return loadEnvConfig(
    env,
    (path) => readFileSync(path, 'utf8'),
    (p): ApiConfig => ({
      ...parseSharedConfig(p),
      port: p.int('API_PORT', 8084, 1, 65535),
      host: p.str('API_HOST', '0.0.0.0'),
      bodyLimit: p.int('API_BODY_LIMIT', 1024 * 1024, 1024, 100 * 1024 * 1024),
      workers: p.int('API_WORKERS', 1, 1, 32),
      ws: {
        allowedOrigins: p.origins('API_WS_ALLOWED_ORIGINS'),
        maxBufferedBytes: p.int('API_WS_MAX_BUFFERED_BYTES', 1024 * 1024, 16 * 1024, 1024 ** 3),
        drainTimeoutMs: p.int('API_WS_DRAIN_TIMEOUT_MS', 5_000, 100, 600_000),
        checkIntervalMs: p.int('API_WS_CHECK_INTERVAL_MS', 2_000, 50, 600_000),
        maxStreamsPerTenant: p.int('API_WS_MAX_STREAMS_PER_TENANT', 100, 1, 100_000),
      },
    }),
  );
}
