/**
 * Text Postgres `text` and `jsonb` cannot store: NUL, and UTF-16 surrogates that are not half
 * of a pair (`jsonb` rejects the `\ud800` escape `JSON.stringify` writes for them). Such values
 * are refused or failed before they reach a write, never turned into a 500 by the database.
 */

/** A lone surrogate in a JS string (no `u` flag: it must see code units). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * NUL or a lone surrogate as a `\u` escape in JSON text, when the backslash is not itself
 * escaped (`"\\u0000"` in JSON is the harmless six characters `\u0000`).
 */
const ESCAPED_UNSTORABLE =
  /(?<=(?:^|[^\\])(?:\\\\)*)(?:\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2})/i;

/** True when a string holds a NUL or a lone UTF-16 surrogate. */
export function textIsUnstorable(text: string): boolean {
  return text.includes('\0') || LONE_SURROGATE.test(text);
}

/** True when JSON text encodes a NUL or a lone UTF-16 surrogate (raw or `\u`-escaped). */
export function jsonHasUnstorableText(json: string): boolean {
  return textIsUnstorable(json) || ESCAPED_UNSTORABLE.test(json);
}

/**
 * JSON text (as JSON.stringify writes it: NUL and lone surrogates escaped) with every escaped
 * NUL or lone surrogate turned into `\ufffd`: for a statement parameter that carries many rows,
 * where one such value would fail all of them (and the row for good).
 */
export function toStorableJsonText(json: string): string {
  if (!json.includes('\\u') || !ESCAPED_UNSTORABLE.test(json)) return json;
  return json.replace(new RegExp(ESCAPED_UNSTORABLE.source, 'gi'), '\\ufffd');
}

/** Drops NUL and replaces lone surrogates with U+FFFD: for log lines, which must not fail. */
export function toStorableText(text: string): string {
  if (!textIsUnstorable(text)) return text;
  return text.replaceAll('\u0000', '').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd');
}

const pointerPart = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The JSON pointer of the first string (value or object key) in `value` that cannot be stored,
 * or undefined. Walks iteratively, so any depth is safe.
 */
export function findUnstorableText(value: unknown): string | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value: v, path } = item;
    if (typeof v === 'string') {
      if (textIsUnstorable(v)) return path || '/';
    } else if (typeof v === 'object' && v !== null) {
      const entries = Array.isArray(v)
        ? v.map((e, i) => [String(i), e] as const)
        : Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i -= 1) {
        const [key, child] = entries[i] as readonly [string, unknown];
        const childPath = `${path}/${pointerPart(key)}`;
        if (textIsUnstorable(key)) return childPath;
        stack.push({ value: child, path: childPath });
      }
    }
  }
  return undefined;
}

/** Field-problem message for unstorable text. */
export const UNSTORABLE_TEXT_MESSAGE =
  'must not contain NUL characters (\\u0000) or lone UTF-16 surrogates: they cannot be stored';
