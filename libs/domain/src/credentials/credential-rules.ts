import type { FieldProblem } from '../errors/app-error.ts';
import { MIN_SECRET_LENGTH } from '../redaction/redact-secrets.ts';

/**
 * Credentials: named, per-tenant sets of secret strings (`{token: "…"}`) that http and db
 * node configs reference as `{{ secrets.<name>.<key> }}`. These are the rules both the API
 * (writes, workflow validation) and the executor (resolution) apply; no I/O here.
 */

/** A credential name: what a template may spell after `secrets.` (lowercase, digits, `_`, `-`). */
export const CREDENTIAL_NAME = /^[a-z0-9_-]{1,64}$/;
/** A key of a credential's data (`token`, `api_key`, `Password`). */
export const CREDENTIAL_KEY = /^[A-Za-z0-9_-]{1,64}$/;
/** Most keys in one credential. */
export const MAX_CREDENTIAL_KEYS = 100;
/** Most bytes of one credential's data serialised as JSON (64 KiB). */
export const MAX_CREDENTIAL_BYTES = 64 * 1024;

/** One reference to a credential value inside a template. */
export interface SecretRef {
  readonly name: string;
  readonly key: string;
}

/** The decrypted data of the credentials a node references, by name. */
export type ResolvedSecrets = ReadonlyMap<string, Readonly<Record<string, string>>>;

/**
 * The only shape a secret reference takes: `secrets.<name>.<key>`, alone inside `{{ }}`.
 * It is resolved outside JSONata (names may hold `-`, which JSONata reads as minus), so no
 * expression ever sees a secret: it can neither transform nor copy one.
 */
const REFERENCE = /^secrets\s*\.\s*([a-z0-9_-]{1,64})\s*\.\s*([A-Za-z0-9_-]{1,64})$/;

/** The credential and key a template source names, or undefined when it is not a reference. */
export function parseSecretRef(source: string): SecretRef | undefined {
  const match = REFERENCE.exec(source.trim());
  if (!match?.[1] || !match[2]) return undefined;
  return { name: match[1], key: match[2] };
}

/**
 * Whether an expression's source reaches for `secrets` in any other way (`secrets.x`,
 * `$.secrets`, `$$.secrets`, `$lookup($, 'secrets')`): such sources are refused, because
 * the context they are evaluated over never holds secrets and they would silently be empty.
 * Textual on purpose: a false positive (a field called `secrets` at the root) costs a
 * rename, a false negative could hide a leak attempt.
 */
export function mentionsSecrets(source: string): boolean {
  return /(?<![\w$.])\$*\.?\s*secrets\b|['"`]secrets['"`]/.test(source);
}

/** `{{ secrets.<name>.`, with the whitespace {@link parseSecretRef} accepts (JavaScript's `\s`). */
const REFERENCED_NAME = /\{\{\s*secrets\s*\.\s*([a-z0-9_-]{1,64})\s*\./g;

/**
 * The credential names referenced anywhere in `value` (a workflow definition as JSON): every
 * string is searched with the whitespace the template compiler accepts, so a reference
 * spelled with a newline, a tab or a no-break space is found too (a regex over the JSON text
 * would see a newline as the two characters `\n`).
 */
export function referencedCredentialNames(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    if (value.includes('secrets'))
      for (const m of value.matchAll(REFERENCED_NAME)) if (m[1] !== undefined) found.add(m[1]);
  } else if (Array.isArray(value)) {
    for (const item of value) referencedCredentialNames(item, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) referencedCredentialNames(item, found);
  }
  return found;
}

function bytesOf(text: string): number {
  // UTF-8 length without Buffer (the domain has no node:* imports).
  return new TextEncoder().encode(text).length;
}

/**
 * The problems of a credential write body's `data`: an object of 1..100 keys matching
 * {@link CREDENTIAL_KEY}, each a string of at least {@link MIN_SECRET_LENGTH} characters (what
 * redaction replaces by value), at most 64 KiB serialised. Paths are
 * JSON pointers under `/data`.
 */
export function credentialDataProblems(data: unknown): FieldProblem[] {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return [{ path: '/data', message: 'must be an object of strings' }];
  const entries = Object.entries(data as Record<string, unknown>);
  const problems: FieldProblem[] = [];
  if (entries.length === 0) problems.push({ path: '/data', message: 'must have at least one key' });
  if (entries.length > MAX_CREDENTIAL_KEYS)
    problems.push({ path: '/data', message: `must have at most ${MAX_CREDENTIAL_KEYS} keys` });
  for (const [key, value] of entries.slice(0, MAX_CREDENTIAL_KEYS + 1)) {
    const path = `/data/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!CREDENTIAL_KEY.test(key))
      problems.push({ path, message: 'key must match [A-Za-z0-9_-]{1,64}' });
    else if (typeof value !== 'string') problems.push({ path, message: 'must be a string' });
    else if (value.length < MIN_SECRET_LENGTH)
      // Shorter strings are not redacted by value (they would garble every text they occur in).
      problems.push({ path, message: `must be at least ${MIN_SECRET_LENGTH} characters` });
  }
  if (problems.length === 0 && bytesOf(JSON.stringify(data)) > MAX_CREDENTIAL_BYTES)
    problems.push({ path: '/data', message: `must be at most ${MAX_CREDENTIAL_BYTES} bytes` });
  return problems;
}

/** The problem of a credential name, or undefined when it is valid. */
export function credentialNameProblem(name: unknown): FieldProblem | undefined {
  return typeof name === 'string' && CREDENTIAL_NAME.test(name)
    ? undefined
    : { path: '/name', message: 'must match [a-z0-9_-]{1,64}' };
}
