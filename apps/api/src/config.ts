import { readFileSync } from 'node:fs';
import { AppError } from '@linkflow/domain';

/** The API's configuration, parsed once at start-up and frozen. */
export interface ApiConfig {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly port: number;
  readonly host: string;
  readonly bodyLimit: number;
  readonly logLevel: string;
  readonly queueName: string;
  readonly nodeTypes: readonly string[] | undefined;
  readonly dbConnections: Readonly<Record<string, string>>;
  readonly httpAllow: readonly string[];
  readonly otlpEndpoint: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const NODE_TYPES = ['http', 'db', 'transform', 'condition', 'code'];

/** Reads `NAME`, or the contents of the file named by `NAME_FILE` (for secrets). */
function read(env: Env, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file !== undefined && file !== '') return readFileSync(file, 'utf8').trim();
  const value = env[name];
  return value === '' ? undefined : value;
}

export class ConfigError extends AppError {
  constructor(readonly issues: readonly string[]) {
    super('CONFIG_INVALID', `invalid configuration: ${issues.join('; ')}`, { kind: 'internal' });
  }
}

/** Shared parsers: each returns the value or pushes an issue naming the variable. */
export function createParsers(env: Env, issues: string[]) {
  return {
    str: (name: string, fallback: string): string => read(env, name) ?? fallback,
    int(name: string, fallback: number, min: number, max: number): number {
      const raw = read(env, name);
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < min || n > max) issues.push(`${name}: expected integer ${min}-${max}, got "${raw}"`);
      return n;
    },
    url(name: string, fallback: string, protocols: readonly string[]): string {
      const raw = read(env, name) ?? fallback;
      try {
        if (!protocols.includes(new URL(raw).protocol)) issues.push(`${name}: expected a ${protocols.join(' or ')} URL`);
      } catch {
        issues.push(`${name}: not a URL`);
      }
      return raw;
    },
    oneOf(name: string, fallback: string, allowed: readonly string[]): string {
      const raw = read(env, name) ?? fallback;
      if (!allowed.includes(raw)) issues.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
      return raw;
    },
    list(name: string): string[] | undefined {
      const raw = read(env, name);
      return raw === undefined ? undefined : raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    },
    nodeTypes(name: string): string[] | undefined {
      const types = this.list(name);
      const unknown = (types ?? []).filter((t) => !NODE_TYPES.includes(t));
      if (unknown.length > 0) issues.push(`${name}: unknown node types ${unknown.join(', ')} (known: ${NODE_TYPES.join(', ')})`);
      return types;
    },
    json(name: string): Record<string, string> {
      const raw = read(env, name);
      if (raw === undefined) return {};
      try {
        const parsed: unknown = JSON.parse(raw);
        const ok = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === 'string');
        if (ok) return parsed as Record<string, string>;
      } catch {
        /* reported below */
      }
      issues.push(`${name}: expected a JSON object of name -> postgres URL`);
      return {};
    },
  };
}

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/linkflow';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses the API's environment. Reports every issue at once in a ConfigError.
 * @throws ConfigError
 */
export function loadConfig(env: Env): ApiConfig {
  const issues: string[] = [];
  const p = createParsers(env, issues);
  const config: ApiConfig = {
    databaseUrl: p.url('DATABASE_URL', DEFAULT_DATABASE_URL, ['postgresql:', 'postgres:']),
    redisUrl: p.url('REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:']),
    port: p.int('API_PORT', 8084, 1, 65535),
    host: p.str('API_HOST', '0.0.0.0'),
    bodyLimit: p.int('API_BODY_LIMIT', 1024 * 1024, 1024, 100 * 1024 * 1024),
    logLevel: p.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    queueName: p.str('LINKFLOW_QUEUE', 'linkflow-executions'),
    nodeTypes: p.nodeTypes('LINKFLOW_NODE_TYPES'),
    dbConnections: p.json('LINKFLOW_DB_CONNECTIONS'),
    httpAllow: p.list('LINKFLOW_HTTP_ALLOW') ?? [],
    otlpEndpoint: read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
  };
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(config);
}
