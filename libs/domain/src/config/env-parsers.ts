import { AppError } from '../errors/app-error.ts';
import { DEFAULT_RATE_CARD, type RateCard } from '../cost/cost-model.ts';
import { parseRateCard } from '../cost/rate-card.ts';
import { NODE_TYPE_NAMES } from '../workflow/node-type-names.ts';
import { isWorkerTag, MAX_WORKER_TAGS, normalizeTags } from '../workflow/worker-tags.ts';
import { parseDbConnections, type DbConnectionConfig } from './db-connections.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** 32 bytes in base64: 42 free characters, a last one whose low 4 bits are zero, `=`. */
const AES_KEY_BASE64 = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=?$/;

/** Every configuration problem at once, e.g. `API_PORT: expected integer 1-65535, got "80a"`. */
export class ConfigError extends AppError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super('CONFIG_INVALID', `invalid configuration: ${issues.join('; ')}`, { kind: 'internal' });
    this.issues = issues;
  }
}

export const LOG_LEVEL_NAMES = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];

/**
 * Environment parsers that collect issues instead of throwing, so `loadConfig` can
 * report them all. `NAME_FILE` (a path) is read through `readFile` for secrets; the
 * file reading is injected so this stays pure. Invalid values are issues, never
 * silent fallbacks.
 */
export function createEnvParsers(env: Env, issues: string[], readFile?: (path: string) => string) {
  const read = (name: string): string | undefined => {
    const file = env[`${name}_FILE`];
    if (file !== undefined && file !== '' && readFile) return readFile(file).trim();
    const value = env[name];
    return value === '' ? undefined : value;
  };
  const list = (name: string): string[] | undefined =>
    read(name)
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  return {
    read,
    list,
    str: (name: string, fallback: string): string => read(name) ?? fallback,
    int(name: string, fallback: number, min: number, max: number): number {
      const raw = read(name);
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!/^\d+$/.test(raw) || n < min || n > max)
        issues.push(`${name}: expected integer ${min}-${max}, got "${raw}"`);
      return n;
    },
    url(name: string, fallback: string, protocols: readonly string[]): string {
      const raw = read(name) ?? fallback;
      let protocol: string | undefined;
      try {
        protocol = new URL(raw).protocol;
      } catch {
        issues.push(`${name}: not a URL`);
        return raw;
      }
      if (!protocols.includes(protocol))
        issues.push(`${name}: expected a ${protocols.join(' or ')} URL`);
      return raw;
    },
    oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
      const raw = read(name) ?? fallback;
      if (!(allowed as readonly string[]).includes(raw))
        issues.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
      return raw as T;
    },
    nodeTypes(name: string): string[] | undefined {
      const types = list(name);
      const unknown = (types ?? []).filter(
        (t) => !(NODE_TYPE_NAMES as readonly string[]).includes(t),
      );
      if (unknown.length > 0)
        issues.push(
          `${name}: unknown node types ${unknown.join(', ')} (known: ${NODE_TYPE_NAMES.join(', ')})`,
        );
      return types;
    },
    /** A comma list of worker tags (`gpu,eu`), sorted and deduplicated; unset is none. */
    tags(name: string): string[] {
      const tags = normalizeTags(list(name));
      const bad = tags.filter((t) => !isWorkerTag(t));
      if (bad.length > 0)
        issues.push(
          `${name}: invalid tags ${bad.join(', ')} (lowercase letters, digits, _ and -, at most 32 characters)`,
        );
      if (tags.length > MAX_WORKER_TAGS)
        issues.push(`${name}: at most ${MAX_WORKER_TAGS} tags, got ${tags.length}`);
      return tags;
    },
    /** LINKFLOW_DB_CONNECTIONS-style JSON: name → URL or `{url, tenants}` (see parseDbConnections). */
    connections(name: string): Record<string, DbConnectionConfig> {
      return parseDbConnections(name, read(name), issues);
    },
    /**
     * A comma list of web origins (`scheme://host[:port]`, normalised as browsers send them)
     * or `*` for any; unset is an empty list.
     */
    origins(name: string): string[] {
      return (list(name) ?? []).flatMap((raw) => {
        if (raw === '*') return [raw];
        let origin: string | undefined;
        try {
          origin = new URL(raw).origin;
        } catch {
          origin = undefined;
        }
        if (
          origin === undefined ||
          origin === 'null' ||
          origin !== raw.replace(/\/$/, '').toLowerCase()
        ) {
          issues.push(`${name}: "${raw}" is not an origin (scheme://host[:port]) or *`);
          return [];
        }
        return [origin];
      });
    },
    /**
     * A rate card: the path of a JSON file (read at start-up), or the JSON itself when the
     * value starts with `{`; unset is {@link DEFAULT_RATE_CARD}. Issues name the field.
     */
    rateCard(name: string): RateCard {
      const raw = read(name);
      if (raw === undefined) return DEFAULT_RATE_CARD;
      let text: string;
      try {
        text = raw.trimStart().startsWith('{') || !readFile ? raw : readFile(raw);
      } catch (e) {
        issues.push(`${name}: cannot read "${raw}" (${(e as Error).message})`);
        return DEFAULT_RATE_CARD;
      }
      const parsed = parseRateCard(text);
      if (parsed.ok) return parsed.card;
      issues.push(...parsed.issues.map((issue) => `${name}: ${issue}`));
      return DEFAULT_RATE_CARD;
    },
    /**
     * An AES-256 key: 32 bytes in standard base64 (`openssl rand -base64 32`; the padding may
     * be left out). Unset is undefined; anything else is an issue that never quotes the value.
     */
    aesKey(name: string): string | undefined {
      const raw = read(name);
      if (raw === undefined || AES_KEY_BASE64.test(raw)) return raw;
      issues.push(`${name}: expected 32 bytes in base64 (openssl rand -base64 32)`);
      return undefined;
    },
    /** `1`/`true` or `0`/`false`; unset is `false`. */
    flag(name: string): boolean {
      const raw = read(name);
      if (raw === undefined) return false;
      if (['1', 'true'].includes(raw)) return true;
      if (!['0', 'false'].includes(raw)) issues.push(`${name}: expected 1 or 0, got "${raw}"`);
      return false;
    },
  };
}

/** Freezes a config object and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * The `loadConfig` skeleton: builds a config with the parsers, throws a ConfigError with
 * every issue, and returns the config deep-frozen.
 * @throws ConfigError
 */
export function loadEnvConfig<C>(
  env: Env,
  readFile: ((path: string) => string) | undefined,
  build: (p: ReturnType<typeof createEnvParsers>) => C,
): C {
  const issues: string[] = [];
  const config = build(createEnvParsers(env, issues, readFile));
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(config);
}
