import { describe, expect, it } from 'vitest';
import { redactAttributes } from './span-redaction.ts';

describe('redactAttributes', () => {
  it('redacts secret names, text shapes and the given values', () => {
    const out = redactAttributes(
      {
        'url.full': 'http://h/check?k=cred-value-1',
        'http.request.header.authorization': 'x',
        list: ['a cred-value-1', 3] as unknown as string[],
      },
      ['cred-value-1'],
    );
    expect(out).toEqual({
      'url.full': 'http://h/check?k=[redacted]',
      'http.request.header.authorization': '[redacted]',
      list: ['a [redacted]', 3],
    });
  });
});
