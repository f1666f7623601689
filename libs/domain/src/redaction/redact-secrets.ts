/**
 * Secret redaction, written once and used by every place that writes something a person or a
 * collector reads: stored execution logs, node run outputs and errors, pino lines and span
 * attributes. Three rules (README, "Redaction"):
 *
 * 1. By name: the value of a field or header whose name suggests a secret (`authorization`,
 *    `cookie`, `password`, `token`, `secret`, `api_key`, `x-api-key`, `credentials`, …) is
 *    replaced by {@link REDACTED}, at any depth.
 * 2. By shape, in text: the password of a URL (`postgres://user:pw@host`), the value of a query
 *    or `key=value` parameter with a secret name (`?token=…`, `password=…`) and a `Bearer` token.
 * 3. By value: strings known to be secrets (collected from a node's rendered config with
 *    {@link collectSecretValues}, or the operator's connection passwords) are replaced wherever
 *    they appear, e.g. when a server echoes a header back or a message quotes it.
 *
 * Pure: no I/O, no clock. Objects are copied, never changed in place.
 */

/** What replaces a secret. */
export const REDACTED = '[redacted]';

/** Strings shorter than this are never treated as secret values (they would garble text). */
export const MIN_SECRET_LENGTH = 4;

const SECRET_NAME =
  /authorization|cookie|passw(?:or)?d|^pwd$|[-_.]pwd$|passphrase|secret|token(?!s)|api[-_.]?key|access[-_.]?key|private[-_.]?key|credential|session[-_.]?id|(?:^|[-_.])auth(?:$|[-_.])|^dsn$/i;

/** Whether a field, header or parameter name suggests its value is a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/*
 * The patterns below see text a tenant controls (console lines, error messages, response
 * bodies), so each is linear in the text: a URL scheme and a parameter name are bounded, and
 * a `key=value` name only starts where a run of name characters starts (lookbehind) and is
 * taken whole (`(?=(…))\1` cannot backtrack). Without that, 10 kB of `token-token-…` took
 * seconds (cubic backtracking) on the executor's event loop.
 */
/** `scheme://user:password@`: the password part. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/)([^\s:/?#@"']*):([^\s/?#@"']+)@/gi;
/** `?name=value` / `&name=value` / `;name=value`. */
const QUERY_PARAM = /([?&;])([^=&;\s#"']{1,256})=([^&;\s#"']*)/g;
/** `password=…`, `"api_key": "…"`, `token: …` in free text. */
const KEY_VALUE =
  /(?<![\w-])(?=([\w-]*?(?:passw(?:or)?d|secret|token|api[-_]?key)[\w-]*))\1(["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"'}]+)/gi;
/** `Bearer <token>` or `Basic <base64>` anywhere in text. */
const BEARER = /\b(Bearer)\s+[A-Za-z0-9._~+/-]+=*|\b(Basic)\s+[A-Za-z0-9+/]{8,}={0,2}(?![\w+/=])/g;

/** A parameter name as a query string parser reads it (`%74oken` is `token`). */
function decodedName(name: string): string {
  if (!name.includes('%')) return name;
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

function quoted(value: string): string {
  const q = value[0];
  return q === '"' || q === "'" ? `${q}${REDACTED}${q}` : REDACTED;
}

/** Rules 2 and 3 on one string: `values` are known secret strings. */
export function redactText(text: string, values: readonly string[] = []): string {
  return scrubText(text, orderValues(values));
}

/** {@link redactText} with `values` already ordered longest first. */
function scrubText(text: string, values: readonly string[]): string {
  let out = redactValues(text, values);
  // Cheap guards keep the common case (no URL, no `=`/`:`, no Bearer) free of regex work.
  if (out.includes('://')) out = out.replace(URL_PASSWORD, `$1$2:${REDACTED}@`);
  if (out.includes('=')) {
    out = out.replace(QUERY_PARAM, (all, sep: string, name: string) =>
      isSecretName(decodedName(name)) ? `${sep}${name}=${REDACTED}` : all,
    );
  }
  if (out.includes('=') || out.includes(':')) {
    out = out.replace(KEY_VALUE, (all, name: string, sep: string, value: string) =>
      value === REDACTED || value.slice(1, -1) === REDACTED ? all : `${name}${sep}${quoted(value)}`,
    );
  }
  if (out.includes('Bearer') || out.includes('Basic'))
    out = out.replace(
      BEARER,
      (_all, bearer?: string, basic?: string) => `${bearer ?? basic} ${REDACTED}`,
    );
  return out;
}

/** Options for {@link redactSecrets}. */
export interface RedactOptions {
  /** Secret strings to replace wherever they appear (rule 3). */
  readonly values?: readonly string[];
  /**
   * Apply rules 1 and 2 (names and text shapes). False for node outputs: they are data a
   * downstream node uses, so only known secret values are taken out of them.
   */
  readonly byName?: boolean;
  /** Deeper structures are cut with a note (default 32). */
  readonly maxDepth?: number;
}

interface Walk {
  readonly values: readonly string[];
  readonly byName: boolean;
  readonly maxDepth: number;
  readonly seen: WeakSet<object>;
}

/** Longest first, so a value containing another is replaced whole; short ones dropped. */
function orderValues(values: readonly string[]): string[] {
  const kept = new Set(values.filter((v) => v.length >= MIN_SECRET_LENGTH));
  return [...kept].sort((a, b) => b.length - a.length);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function redactError(error: Error, w: Walk, depth: number): Error {
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error;
  for (const key of Object.getOwnPropertyNames(error)) {
    const own = (error as unknown as Record<string, unknown>)[key];
    const value = w.byName && isSecretName(key) && own != null ? REDACTED : walk(own, w, depth + 1);
    Object.defineProperty(copy, key, { value, writable: true, configurable: true });
  }
  return copy;
}

function redactObject(obj: Record<string, unknown>, w: Walk, depth: number) {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    out[key] =
      w.byName && isSecretName(key) && value != null ? REDACTED : walk(value, w, depth + 1);
  }
  return out;
}

function walk(value: unknown, w: Walk, depth: number): unknown {
  if (typeof value === 'string')
    return w.byName ? scrubText(value, w.values) : redactValues(value, w.values);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= w.maxDepth) return '[too deep]';
  if (w.seen.has(value)) return '[circular]';
  w.seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => walk(item, w, depth + 1));
    if (value instanceof Error) return redactError(value, w, depth);
    if (value instanceof URL) return walk(value.href, w, depth);
    if (isPlainObject(value)) return redactObject(value, w, depth);
    return value;
  } finally {
    w.seen.delete(value);
  }
}

function redactValues(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) if (out.includes(value)) out = out.replaceAll(value, REDACTED);
  return out;
}

/**
 * A copy of `value` with secrets replaced by {@link REDACTED} (rules 1–3; only rule 3 with
 * `byName: false`). Strings, arrays, plain objects and errors (kept errors, same prototype) are
 * walked; other instances (dates, buffers) are kept as they are. Cycles become `[circular]`.
 */
export function redactSecrets<T>(value: T, options: RedactOptions = {}): T {
  const w: Walk = {
    values: orderValues(options.values ?? []),
    byName: options.byName ?? true,
    maxDepth: options.maxDepth ?? 32,
    seen: new WeakSet(),
  };
  if (!w.byName && w.values.length === 0) return value;
  return walk(value, w, 0) as T;
}

/** The credential of `Bearer x`, `Basic x`, `Token x` (the scheme alone is no secret). */
const SCHEME_CREDENTIAL = /^\s*[A-Za-z][\w-]*\s+(\S+)\s*$/;

function secretsInText(text: string, found: Set<string>): void {
  if (text.includes('://'))
    for (const m of text.matchAll(URL_PASSWORD)) if (m[3] !== undefined) found.add(m[3]);
  if (text.includes('='))
    for (const m of text.matchAll(QUERY_PARAM))
      if (m[2] !== undefined && m[3] !== undefined && isSecretName(decodedName(m[2])))
        found.add(m[3]);
}

function collect(value: unknown, found: Set<string>, depth: number): void {
  if (typeof value === 'string') return secretsInText(value, found);
  if (typeof value !== 'object' || value === null || depth > 32) return;
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value as Record<string, unknown>);
  for (const [key, item] of entries) {
    if (!Array.isArray(value) && isSecretName(key) && typeof item === 'string') {
      found.add(item);
      const credential = SCHEME_CREDENTIAL.exec(item)?.[1];
      if (credential !== undefined) found.add(credential);
    } else {
      collect(item, found, depth + 1);
    }
  }
}

/**
 * The secret strings of a (rendered) node config, for rule 3: values under secret names (and
 * the credential part of `Bearer x`), URL passwords and secret query parameter values. Strings
 * shorter than {@link MIN_SECRET_LENGTH} are left out.
 */
export function collectSecretValues(value: unknown): string[] {
  const found = new Set<string>();
  collect(value, found, 0);
  return orderValues([...found]);
}

/** What a log line says about a value instead of the value itself. */
export interface ValueSummary {
  readonly type: 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null';
  /** Serialised size, when the caller knows it. */
  readonly bytes?: number;
  /** Items of an array, characters of a string. */
  readonly length?: number;
  /** An object's first keys (at most 20). */
  readonly keys?: readonly string[];
}

const MAX_SUMMARY_KEYS = 20;

/** A summary of a node's input or output for a log line: its type, size and keys, no values. */
export function summarizeValue(value: unknown, bytes?: number): ValueSummary {
  const size = bytes === undefined ? {} : { bytes };
  if (value === null || value === undefined) return { type: 'null', ...size };
  if (Array.isArray(value)) return { type: 'array', length: value.length, ...size };
  if (typeof value === 'string') return { type: 'string', length: value.length, ...size };
  if (typeof value === 'number' || typeof value === 'bigint') return { type: 'number', ...size };
  if (typeof value === 'boolean') return { type: 'boolean', ...size };
  if (typeof value === 'object')
    return { type: 'object', keys: Object.keys(value).slice(0, MAX_SUMMARY_KEYS), ...size };
  return { type: 'null', ...size };
}
