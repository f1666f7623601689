import { describe, expect, it } from 'vitest';
import {
  collectSecretValues,
  isSecretName,
  REDACTED,
  redactSecrets,
  redactText,
  summarizeValue,
} from './redact-secrets.ts';

describe('isSecretName', () => {
  it.each([
    'Authorization',
    'proxy-authorization',
    'Cookie',
    'set-cookie',
    'X-Api-Key',
    'api_key',
    'apiKey',
    'password',
    'db_passwd',
    'client_secret',
    'access_token',
    'X-Auth-Token',
    'credentials',
    'auth',
    'x-auth',
    'session_id',
    'private-key',
    'dsn',
  ])('treats %s as a secret name', (name) => {
    expect(isSecretName(name)).toBe(true);
  });

  it.each(['content-type', 'accept', 'author', 'max_tokens', 'tokens', 'id', 'url', 'query'])(
    'leaves %s alone',
    (name) => {
      expect(isSecretName(name)).toBe(false);
    },
  );
});

describe('redactText', () => {
  it('hides the password of a URL and keeps the rest', () => {
    expect(redactText('connect postgresql://app:hunter22@db:5432/orders failed')).toBe(
      `connect postgresql://app:${REDACTED}@db:5432/orders failed`,
    );
  });

  it('hides secret query and key=value parameters, and bearer/basic credentials', () => {
    expect(redactText('GET https://x.io/a?q=1&api_key=abc123&token=zz9')).toBe(
      `GET https://x.io/a?q=1&api_key=${REDACTED}&token=${REDACTED}`,
    );
    expect(redactText('host=db password=hunter22 user=app')).toBe(
      `host=db password=${REDACTED} user=app`,
    );
    expect(redactText('{"password":"hunter22","user":"app"}')).toBe(
      `{"password":"${REDACTED}","user":"app"}`,
    );
    expect(redactText('sent Authorization: Bearer s3cr3t.tok-en')).toBe(
      `sent Authorization: Bearer ${REDACTED}`,
    );
    expect(redactText('Authorization: Basic dXNlcjpwYXNzd29yZA==')).toBe(
      `Authorization: Basic ${REDACTED}`,
    );
  });

  it('recognises percent-encoded parameter names (`%74oken` is `token` to a server)', () => {
    expect(redactText('GET /api/x/logs/stream?%74oken=lf_k3y&after=1')).toBe(
      `GET /api/x/logs/stream?%74oken=${REDACTED}&after=1`,
    );
    expect(redactText('https://h/?api%5Fkey=abc123&bad=%zz')).toBe(
      `https://h/?api%5Fkey=${REDACTED}&bad=%zz`,
    );
    expect(collectSecretValues({ url: 'https://h/?%74oken=lf_k3y' })).toEqual(['lf_k3y']);
  });

  it('replaces known secret values wherever they appear, longest first', () => {
    expect(redactText('echo: abcd and abcdef', ['abcd', 'abcdef'])).toBe(
      `echo: ${REDACTED} and ${REDACTED}`,
    );
  });

  it('takes linear time on hostile text (a tenant controls console lines and error messages)', () => {
    // Each used to backtrack: 12 kB of `token-…` alone took tens of seconds.
    const hostile = [
      `${'token-'.repeat(2_000)}:`,
      `=${'?'.repeat(40_000)}`,
      `${'a.'.repeat(20_000)}://`,
      `${'a-'.repeat(20_000)}:`,
    ];
    const started = performance.now();
    for (const text of hostile) expect(redactText(text)).toBe(text);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(redactText(`${'x-'.repeat(5_000)}api-token: s3cr3t`)).toBe(
      `${'x-'.repeat(5_000)}api-token: ${REDACTED}`,
    );
  }, 120_000);

  it('leaves ordinary text unchanged', () => {
    const text = 'node fetch failed: GET http://127.0.0.1:8080/json returned 503 (tokens: 5)';
    expect(redactText(text.replace(' (tokens: 5)', ''))).toBe(
      'node fetch failed: GET http://127.0.0.1:8080/json returned 503',
    );
    expect(redactText('Basic plan, 3 users')).toBe('Basic plan, 3 users');
  });
});

describe('redactSecrets', () => {
  it('hides values under secret names at any depth and copies the rest', () => {
    const input = {
      url: 'https://api.example/v1?token=t0k3n',
      headers: { Authorization: 'Bearer s3cr3t', Accept: 'application/json', 'X-Api-Key': 'k' },
      nested: { deeper: [{ password: 'p4ss', keep: 1 }] },
      none: null,
    };
    const out = redactSecrets(input);
    expect(out).toEqual({
      url: `https://api.example/v1?token=${REDACTED}`,
      headers: { Authorization: REDACTED, Accept: 'application/json', 'X-Api-Key': REDACTED },
      nested: { deeper: [{ password: REDACTED, keep: 1 }] },
      none: null,
    });
    expect(input.headers.Authorization).toBe('Bearer s3cr3t');
  });

  it('keeps errors as errors with their messages redacted', () => {
    const err = new TypeError('login as app:hunter22 failed: postgres://app:hunter22@db/x');
    const out = redactSecrets({ err }, { values: ['hunter22'] });
    expect(out.err).toBeInstanceOf(TypeError);
    expect(out.err.message).not.toContain('hunter22');
    expect(out.err.stack).not.toContain('hunter22');
  });

  it('with byName false replaces only the known values (node outputs stay data)', () => {
    const output = { token: 'other', echoed: 'Bearer s3cr3t', url: 'http://a:b@c' };
    expect(redactSecrets(output, { byName: false, values: ['s3cr3t'] })).toEqual({
      token: 'other',
      echoed: `Bearer ${REDACTED}`,
      url: 'http://a:b@c',
    });
    expect(redactSecrets(output, { byName: false })).toBe(output);
  });

  it('cuts cycles and very deep structures', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    expect(redactSecrets(cyclic)).toEqual({ a: 1, self: '[circular]' });
    expect(redactSecrets({ a: { b: { c: 1 } } }, { maxDepth: 2 })).toEqual({
      a: { b: '[too deep]' },
    });
  });

  it('keeps other instances and primitives as they are', () => {
    const at = new Date(0);
    expect(redactSecrets({ at, n: 1, ok: true })).toEqual({ at, n: 1, ok: true });
    expect(redactSecrets(new URL('http://u:pw12@h/'))).toBe(`http://u:${REDACTED}@h/`);
  });
});

describe('collectSecretValues', () => {
  it('collects header values, bearer credentials, URL passwords and secret query values', () => {
    const config = {
      url: 'https://u:pa55word@api.example/x?api_key=k3y-value&page=2',
      headers: { authorization: 'Bearer s3cr3t', cookie: 'sid=abcdef', accept: 'text/plain' },
      body: { nested: [{ client_secret: 'cl13nt' }], short: { token: 'abc' } },
    };
    expect(collectSecretValues(config).sort()).toEqual(
      ['Bearer s3cr3t', 'cl13nt', 'k3y-value', 'pa55word', 's3cr3t', 'sid=abcdef'].sort(),
    );
    expect(collectSecretValues({ url: 'http://x/', expression: '1 + 1' })).toEqual([]);
  });
});

describe('summarizeValue', () => {
  it('tells type, size and keys, never values', () => {
    expect(summarizeValue({ a: 1, b: 's3cr3t' }, 20)).toEqual({
      type: 'object',
      keys: ['a', 'b'],
      bytes: 20,
    });
    expect(summarizeValue([1, 2, 3])).toEqual({ type: 'array', length: 3 });
    expect(summarizeValue('abc')).toEqual({ type: 'string', length: 3 });
    expect(summarizeValue(2)).toEqual({ type: 'number' });
    expect(summarizeValue(true)).toEqual({ type: 'boolean' });
    expect(summarizeValue(null)).toEqual({ type: 'null' });
    expect(summarizeValue(undefined, 0)).toEqual({ type: 'null', bytes: 0 });
  });
});
