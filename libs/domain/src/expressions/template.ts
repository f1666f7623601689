/**
 * `{{ expr }}` templates inside config strings. A string that is exactly one template
 * (surrounding whitespace allowed) yields the expression's raw value; otherwise the
 * string is interpolated. The scanner respects quotes and braces so JSONata object
 * constructors such as `{{ {'a': {'b': 1}} }}` parse.
 */
export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'expr'; readonly source: string };

export interface ParsedTemplate {
  readonly parts: readonly TemplatePart[];
  /** True when the string is exactly one `{{ }}` (the raw value is used). */
  readonly isSingle: boolean;
  /** True when parsing stopped at the `maxExprs + 1`-th template (`parts` is partial). */
  readonly tooMany?: boolean;
}

/** True when a string contains a template opener. */
export function hasTemplate(text: string): boolean {
  return text.includes('{{');
}

/** Finds the index of the `}}` closing a template whose body starts at `start`, or -1. */
function findClose(text: string, start: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (quote !== undefined) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '{') depth++;
    else if (ch === '}' && depth > 0) depth--;
    else if (ch === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}

/**
 * Splits a string into text and expression parts; `undefined` when a `{{` is unclosed
 * or empty. Stops (`tooMany`) past `maxExprs` templates, so a huge string costs little.
 */
export function parseTemplate(text: string, maxExprs = Infinity): ParsedTemplate | undefined {
  const parts: TemplatePart[] = [];
  let pos = 0;
  let exprCount = 0;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    if (open === -1) {
      parts.push({ kind: 'text', text: text.slice(pos) });
      break;
    }
    if (open > pos) parts.push({ kind: 'text', text: text.slice(pos, open) });
    const close = findClose(text, open + 2);
    if (close === -1) return undefined;
    const source = text.slice(open + 2, close).trim();
    if (source === '') return undefined;
    parts.push({ kind: 'expr', source });
    if (++exprCount > maxExprs) return { parts, isSingle: false, tooMany: true };
    pos = close + 2;
  }
  const exprs = parts.filter((p) => p.kind === 'expr');
  const texts = parts.filter((p) => p.kind === 'text');
  const isSingle =
    exprs.length === 1 && texts.every((p) => p.kind === 'text' && p.text.trim() === '');
  return { parts, isSingle };
}

/** How an interpolated value becomes text: strings as-is, null/undefined empty, else JSON. */
export function stringifyValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
