import { describe, expect, it } from 'vitest';
import { redactUrl } from './request-log.ts';

describe('redactUrl', () => {
  it('replaces the values of secret query parameters, wherever they are', () => {
    expect(redactUrl('/api/x/logs/stream?token=lf_abc&after=3')).toBe(
      '/api/x/logs/stream?token=[REDACTED]&after=3',
    );
    expect(redactUrl('/a?after=1&TOKEN=k#frag')).toBe('/a?after=1&TOKEN=[REDACTED]#frag');
    expect(redactUrl('/a?api_key=k&access_token=t')).toBe(
      '/a?api_key=[REDACTED]&access_token=[REDACTED]',
    );
  });

  it('recognises a percent-encoded name (the query parser decodes it to `token`)', () => {
    expect(redactUrl('/a/logs/stream?%74oken=lf_abc&after=3')).toBe(
      '/a/logs/stream?%74oken=[REDACTED]&after=3',
    );
    expect(redactUrl('/a?after=1&to%6Ben=lf_abc')).toBe('/a?after=1&to%6Ben=[REDACTED]');
    expect(redactUrl('/a?%zz=1&token=k')).toBe('/a?%zz=1&token=[REDACTED]');
  });

  it('leaves other parameters and look-alikes alone', () => {
    expect(redactUrl('/a?mytoken=x&token_type=y')).toBe('/a?mytoken=x&token_type=y');
    expect(redactUrl('/plain/path')).toBe('/plain/path');
  });
});
