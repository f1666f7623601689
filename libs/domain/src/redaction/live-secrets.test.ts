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

  it('answers an owner with its own values only, and forgets an owner once it let go', () => {
    // ARRANGE: two tenants hold values, one value by both
    const live = createLiveSecrets();
    const a = live.hold(['shared', 'only-a-longer'], 'tenant-a');
    const b = live.hold(['shared'], 'tenant-b');
    // ASSERT
    expect(live.values('tenant-a')).toEqual(['only-a-longer', 'shared']);
    expect(live.values('tenant-b')).toEqual(['shared']);
    expect(live.values('tenant-c')).toEqual([]);
    expect(live.values()).toEqual(['only-a-longer', 'shared']);
    a();
    expect(live.values('tenant-a')).toEqual([]);
    expect(live.values()).toEqual(['shared']);
    b();
    expect(live.values()).toEqual([]);
  });
});
