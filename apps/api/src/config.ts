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
    }),
  );
}
