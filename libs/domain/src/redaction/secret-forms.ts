/**
 * The forms a secret value takes once a node puts it on the wire: percent-encoded in a URL
 * path or query (`new URL` encodes a space, `"`, non-ASCII), form-encoded by a `query`
 * parameter (`+` for a space), escaped inside JSON text a server echoes as a string body,
 * lower-cased as a URL's scheme or host.
 * Redaction by value (rule 3) only finds a value spelled exactly as it was resolved, so each
 * of these forms is redacted too. Other transformations (base64 in a `Basic` header the
 * tenant builds, hashes, a value split across fields) are not recognisable and stay out of
 * scope (README, "Redaction").
 */

/** Longest value looked for in URL forms: servers refuse longer URLs (8 KiB is usual). */
const MAX_URL_VALUE = 8 * 1024;
/** Longest value looked for lower-cased: a host name has at most 253 characters. */
const MAX_HOST_VALUE = 253;

/**
 * Each form, and the longest value it applies to: every form is one more search through
 * every string of an output, so forms that cannot occur for long values are not searched.
 */
const TO_FORMS: readonly { readonly max: number; readonly form: (value: string) => string }[] = [
  { max: MAX_URL_VALUE, form: encodeURIComponent },
  { max: MAX_URL_VALUE, form: encodeURI },
  { max: MAX_URL_VALUE, form: (v) => new URLSearchParams({ v }).toString().slice(2) },
  { max: MAX_URL_VALUE, form: (v) => new URL(`http://h/${v}`).pathname.slice(1) },
  { max: MAX_URL_VALUE, form: (v) => new URL(`http://h/?${v}`).search.slice(1) },
  { max: Infinity, form: (v) => JSON.stringify(v).slice(1, -1) },
  // The URL parser lower-cases a scheme and a host before an error message quotes them.
  { max: MAX_HOST_VALUE, form: (v) => v.toLowerCase() },
];

function formsOf(value: string): string[] {
  const out: string[] = [];
  for (const { max, form: toForm } of TO_FORMS) {
    if (value.length > max) continue;
    try {
      const form = toForm(value);
      if (form !== value) out.push(form);
    } catch {
      // A lone surrogate has no percent-encoding: nothing on the wire to look for.
    }
  }
  return out;
}

/** `values` followed by their encoded forms that differ from them, each once. */
export function withEncodedForms(values: readonly string[]): string[] {
  return [...new Set([...values, ...values.flatMap(formsOf)])];
}
