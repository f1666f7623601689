import { readFileSync } from 'node:fs';
import {
  ConfigError,
  createEnvParsers,
  deepFreeze,
  LOG_LEVEL_NAMES,
  type Env,
  type LogLevelName,
} from '@linkflow/domain';

/** The API's configuration, parsed once at start-up and frozen. */
export interface ApiConfig {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly port: number;
  readonly host: string;
  readonly bodyLimit: number;
  readonly logLevel: LogLevelName;
  readonly queueName: string;
  readonly nodeTypes: readonly string[] | undefined;
  readonly dbConnections: Readonly<Record<string, string>>;
  readonly httpAllow: readonly string[];
  readonly otlpEndpoint: string | undefined;
}

export { ConfigError };

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/linkflow';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Parses the API's environment. Reports every issue at once in a ConfigError.
 * @throws ConfigError
 */
export function loadConfig(env: Env): ApiConfig {
  const issues: string[] = [];
  const p = createEnvParsers(env, issues, (path) => readFileSync(path, 'utf8'));
  const config: ApiConfig = {
    databaseUrl: p.url('DATABASE_URL', DEFAULT_DATABASE_URL, ['postgresql:', 'postgres:']),
    redisUrl: p.url('REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:']),
    port: p.int('API_PORT', 8084, 1, 65535),
    host: p.str('API_HOST', '0.0.0.0'),
    bodyLimit: p.int('API_BODY_LIMIT', 1024 * 1024, 1024, 100 * 1024 * 1024),
    logLevel: p.oneOf('LOG_LEVEL', 'info', LOG_LEVEL_NAMES),
    queueName: p.str('LINKFLOW_QUEUE', 'linkflow-executions'),
    nodeTypes: p.nodeTypes('LINKFLOW_NODE_TYPES'),
    dbConnections: p.connections('LINKFLOW_DB_CONNECTIONS'),
    httpAllow: p.list('LINKFLOW_HTTP_ALLOW') ?? [],
    otlpEndpoint: p.read('OTEL_EXPORTER_OTLP_ENDPOINT'),
  };
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(config);
}
