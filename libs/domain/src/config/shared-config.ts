import { collectSecretValues } from '../redaction/redact-secrets.ts';
import type { DbConnectionConfig } from './db-connections.ts';
import { LOG_LEVEL_NAMES, type createEnvParsers, type LogLevelName } from './env-parsers.ts';

/** Settings the API and the executor read from the same variables, with the same defaults. */
export interface SharedConfig {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly queueName: string;
  readonly logLevel: LogLevelName;
  readonly nodeTypes: readonly string[] | undefined;
  readonly dbConnections: Readonly<Record<string, DbConnectionConfig>>;
  /** LINKFLOW_DB_ALLOW_PRIVILEGED=1: accept db connections whose role is a superuser or may touch server files/programs. */
  readonly dbAllowPrivileged: boolean;
  readonly httpAllow: readonly string[];
  readonly otlpEndpoint: string | undefined;
  /** The credential store's keys (LINKFLOW_SECRETS_KEY[_PREVIOUS]); none: credentials are off. */
  readonly secretsKeys: SecretsKeys;
}

/**
 * AES-256 keys of the credential store, base64 of 32 bytes each. `current` encrypts and is
 * tried first to decrypt; `previous` only decrypts (values written before a key rotation).
 */
export interface SecretsKeys {
  readonly current: string | undefined;
  readonly previous: string | undefined;
}

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/linkflow';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Parses the shared variables (README, Configuration); issues go to the parsers' list. */
export function parseSharedConfig(p: ReturnType<typeof createEnvParsers>): SharedConfig {
  return {
    databaseUrl: p.url('DATABASE_URL', DEFAULT_DATABASE_URL, ['postgresql:', 'postgres:']),
    redisUrl: p.url('REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:']),
    queueName: p.str('LINKFLOW_QUEUE', 'linkflow-executions'),
    logLevel: p.oneOf('LOG_LEVEL', 'info', LOG_LEVEL_NAMES),
    nodeTypes: p.nodeTypes('LINKFLOW_NODE_TYPES'),
    dbConnections: p.connections('LINKFLOW_DB_CONNECTIONS'),
    dbAllowPrivileged: p.flag('LINKFLOW_DB_ALLOW_PRIVILEGED'),
    httpAllow: p.list('LINKFLOW_HTTP_ALLOW') ?? [],
    otlpEndpoint: p.read('OTEL_EXPORTER_OTLP_ENDPOINT'),
    secretsKeys: {
      current: p.aesKey('LINKFLOW_SECRETS_KEY'),
      previous: p.aesKey('LINKFLOW_SECRETS_KEY_PREVIOUS'),
    },
  };
}

/**
 * The secret strings in a process's configuration (the passwords of `DATABASE_URL`,
 * `REDIS_URL` and every `LINKFLOW_DB_CONNECTIONS` URL), for the logger and the engine to
 * redact wherever they would appear.
 */
export function configSecretValues(config: SharedConfig): string[] {
  const { current, previous } = config.secretsKeys;
  const keys = [current, previous].filter((k): k is string => k !== undefined);
  return [
    ...collectSecretValues([config.databaseUrl, config.redisUrl, config.dbConnections]),
    ...keys,
  ];
}
