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

const TO_FORMS: readonly ((value: string) => string)[] = [
  encodeURIComponent,
  encodeURI,
  (v) => new URLSearchParams({ v }).toString().slice(2),
  (v) => new URL(`http://h/${v}`).pathname.slice(1),
  (v) => new URL(`http://h/?${v}`).search.slice(1),
  (v) => JSON.stringify(v).slice(1, -1),
  // The URL parser lower-cases a scheme and a host before an error message quotes them.
  (v) => v.toLowerCase(),
];

function formsOf(value: string): string[] {
  const out: string[] = [];
  for (const toForm of TO_FORMS) {
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
