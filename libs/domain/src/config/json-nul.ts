/**
 * True when JSON text encodes a NUL character (`\u0000` not itself escaped as `\\u0000`).
 * Postgres `jsonb` and `text` cannot store NUL, so such values are refused or failed
 * before they reach a write.
 */
export function jsonHasNul(json: string): boolean {
  return /(?:^|[^\\])(?:\\\\)*\\u0000/.test(json);
}
