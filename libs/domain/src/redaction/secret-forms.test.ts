import { describe, expect, it } from 'vitest';
import { redactText } from './redact-secrets.ts';
import { withEncodedForms } from './secret-forms.ts';

describe('withEncodedForms', () => {
  it('adds the percent-, form- and JSON-escaped forms that differ from the value', () => {
    const value = 'sp ace+é"q|^';
    const forms = withEncodedForms([value]);
    expect(forms[0]).toBe(value);
    expect(forms).toContain('sp%20ace%2B%C3%A9%22q%7C%5E');
    expect(forms).toContain('sp+ace%2B%C3%A9%22q%7C%5E');
    expect(forms).toContain('sp%20ace+%C3%A9%22q|^');
    expect(forms).toContain('sp ace+é\\"q|^');
    expect(withEncodedForms(['UpCase1'])).toEqual(['UpCase1', 'upcase1']);
    expect(new Set(forms).size).toBe(forms.length);
  });

  it('adds nothing for a URL-safe value, and survives a lone surrogate', () => {
    expect(withEncodedForms(['tok-123_abc'])).toEqual(['tok-123_abc']);
    expect(withEncodedForms(['ab\uD800cd'])).toContain('ab\uD800cd');
  });

  it('lets redaction find a value echoed in a URL', () => {
    const text = 'GET /p/sp%20ace%2Fx?v=sp+ace%2Fx';
    expect(redactText(text, withEncodedForms(['sp ace/x']))).toBe('GET /p/[redacted]?v=[redacted]');
  });

  it('looks for long values only in the forms they can take (each form costs a search)', () => {
    const long = `A b${'x'.repeat(9000)}`;
    expect(withEncodedForms([long])).toEqual([long]);
    const pem = `-----BEGIN KEY-----\n${'Q'.repeat(9000)}\n-----END KEY-----`;
    expect(withEncodedForms([pem])).toEqual([pem, JSON.stringify(pem).slice(1, -1)]);
  });
});
