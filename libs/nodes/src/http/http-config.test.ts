import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { createAddressPolicy } from './address-policy.ts';
import {
  checkHttpConfig,
  httpBreakerKey,
  HttpConfigSchema,
  isAcceptedStatus,
} from './http-config.ts';
import { createHttpNode } from './index.ts';

describe('http config', () => {
  it('validates the schema', () => {
    expect(
      Value.Check(HttpConfigSchema, { url: 'https://a.example', accept_status: [200, '3xx'] }),
    ).toBe(true);
    expect(Value.Check(HttpConfigSchema, { url: 'https://a.example', extra: 1 })).toBe(false);
    expect(Value.Check(HttpConfigSchema, { url: 'https://a.example', method: 'TRACE' })).toBe(
      false,
    );
    expect(
      Value.Check(HttpConfigSchema, { url: 'https://a.example', accept_status: ['2XX'] }),
    ).toBe(false);
    expect(Value.Check(HttpConfigSchema, { url: 'https://a.example', timeout_ms: 0 })).toBe(false);
  });

  it('caps timeout_ms at 24 h, below the 2^31-1 ms where Node timers fire at once', () => {
    const check = (timeout_ms: number) =>
      Value.Check(HttpConfigSchema, { url: 'https://a.example', timeout_ms });
    expect(check(86_400_000)).toBe(true);
    expect(check(86_400_001)).toBe(false);
    expect(check(2 ** 31)).toBe(false);
  });

  it('reports non-http URLs and reserved headers, and lets templates through', () => {
    expect(checkHttpConfig({ url: 'file:///etc/passwd' })).toEqual([
      { path: '/config/url', message: expect.stringContaining('file:') as string },
    ]);
    expect(checkHttpConfig({ url: 'not a url' })).toHaveLength(1);
    expect(checkHttpConfig({ url: '{{ input.url }}' })).toEqual([]);
    const headers = { Host: 'x', 'bad name': 'y', 'x-ok': 'z' };
    expect(checkHttpConfig({ url: 'https://a.example', headers }).map((p) => p.path)).toEqual([
      '/config/headers/Host',
      '/config/headers/bad name',
    ]);
  });

  it('keys the breaker by host and port', () => {
    expect(httpBreakerKey({ url: 'https://api.example/x' })).toBe('api.example:443');
    expect(httpBreakerKey({ url: 'http://api.example:8080/x' })).toBe('api.example:8080');
    expect(httpBreakerKey({ url: 'http://API.example/x' })).toBe('api.example:80');
    expect(httpBreakerKey({ url: 'https://{{ input.host }}/x' })).toBeUndefined();
  });

  it('accepts 2xx by default and mixes exact statuses with classes', () => {
    expect(isAcceptedStatus(204, undefined)).toBe(true);
    expect(isAcceptedStatus(302, undefined)).toBe(false);
    expect(isAcceptedStatus(302, [200, '3xx'])).toBe(true);
    expect(isAcceptedStatus(201, [200])).toBe(false);
  });

  it('describes the node', () => {
    const node = createHttpNode({ allow: [], maxResponseBytes: 1, defaultTimeoutMs: 1 });
    expect(node).toMatchObject({ type: 'http', version: 1, rawFields: [] });
    return node.close?.();
  });
});

describe('address policy', () => {
  const policy = createAddressPolicy([
    'Intranet.Example.',
    '10.1.2.3',
    '192.168.0.0/16',
    '::ffff:172.16.0.0/108',
  ]);

  it('allows public addresses and refuses non-public ones', () => {
    expect(policy.refusal('a.example', '93.184.216.34')).toBeUndefined();
    expect(policy.refusal('a.example', '2606:2800:220:1::1')).toBeUndefined();
    expect(policy.refusal('a.example', '127.0.0.1')).toContain('loopback');
    expect(policy.refusal('a.example', '0.0.0.0')).toContain('unspecified');
    expect(policy.refusal('a.example', '255.255.255.255')).toContain('broadcast');
    expect(policy.refusal('a.example', '224.0.0.1')).toContain('multicast');
    expect(policy.refusal('a.example', '::')).toContain('unspecified');
    expect(policy.refusal('a.example', 'fc00::1')).toContain('unique-local');
    expect(policy.refusal('a.example', '::ffff:169.254.169.254')).toContain('metadata');
    expect(policy.refusal('a.example', '64:ff9b::5db8:d822')).toBeUndefined(); // NAT64 of a public IP
  });

  it('admits by host name (case-insensitive), exact IP and CIDR', () => {
    expect(policy.refusal('intranet.example', '10.9.9.9')).toBeUndefined();
    expect(policy.refusal('other.example', '10.1.2.3')).toBeUndefined();
    expect(policy.refusal('other.example', '10.1.2.4')).toContain('private');
    expect(policy.refusal('other.example', '192.168.7.7')).toBeUndefined();
    expect(policy.refusal('other.example', '::ffff:192.168.7.7')).toBeUndefined();
    expect(policy.refusal('other.example', '172.16.0.9')).toBeUndefined();
  });

  it('opens metadata addresses only by an exact entry', () => {
    expect(createAddressPolicy(['0.0.0.0/0']).refusal('x', '169.254.169.254')).toContain(
      'metadata',
    );
    expect(
      createAddressPolicy(['169.254.169.254']).refusal('x', '169.254.169.254'),
    ).toBeUndefined();
    expect(createAddressPolicy(['fd00::/8']).refusal('x', 'fd00:ec2::254')).toContain('metadata');
  });

  it('rejects entries that are not a host name, IP or CIDR', () => {
    for (const entry of ['10.0.0.0/33', 'a b', 'http://x', '1.2.3/8']) {
      expect(() => createAddressPolicy([entry])).toThrow(/LINKFLOW_HTTP_ALLOW/);
    }
  });
});
