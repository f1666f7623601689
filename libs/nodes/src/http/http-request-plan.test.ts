import { describe, expect, it } from 'vitest';
import { firstHop } from './http-request-plan.ts';

describe('firstHop with a URL that does not parse', () => {
  it('quotes a short URL whole', () => {
    expect(() => firstHop({ url: 'not a url' })).toThrow('url is not an absolute URL: not a url');
  });

  it('names only the length of a long one (a cut could end inside a credential value)', () => {
    const url = `${'x'.repeat(196)}s3cr3t`;
    expect(() => firstHop({ url })).toThrow('url is not an absolute URL (202 characters)');
    expect(() => firstHop({ url })).not.toThrow(/x{196}s/);
  });
});
