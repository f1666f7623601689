import { describe, expect, it } from 'vitest';
import { createLiveSecrets } from './live-secrets.ts';

describe('createLiveSecrets', () => {
  it('holds a value until every holder let go, longest first', () => {
    const live = createLiveSecrets();
    const a = live.hold(['short', 'a-longer-one']);
    const b = live.hold(['short']);
    expect(live.values()).toEqual(['a-longer-one', 'short']);
    a();
    a();
    expect(live.values()).toEqual(['short']);
    b();
    expect(live.values()).toEqual([]);
  });
});
