import { describe, expect, it } from 'vitest';
import { createNodeRegistry, NodeError, type NodeDefinition } from '@linkflow/nodes';
import type { CredentialPort } from '../ports.ts';
import { compileTestWorkflow, fakeNodeType, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { withEncodedForms } from '@linkflow/domain';
import { runNode } from './node-runner.ts';
import { breakerTarget } from './node-secrets.ts';

// A breaker's target names it in /metrics, /api/admin/breakers and CIRCUIT_OPEN errors: a
// host built from a credential must not show there, not even lower-cased by the URL parser.

const SECRET = 'Sub-Secret42';

/** Typed `http` (so `secrets` may reach `url`); keyed by the URL's host; fails retryably. */
const call: NodeDefinition<never> = {
  ...fakeNodeType('http', () => Promise.reject(new NodeError('CONNECTIVITY', 'refused'))),
  secretFields: ['url'],
  breakerKey: (config: { url: string }) => `${new URL(config.url).host}:443`,
};
const registry = createNodeRegistry([call]);

const credentials: CredentialPort = {
  resolve: () => Promise.resolve({ ok: true, secrets: new Map([['api', { host: SECRET }]]) }),
  isTransient: () => false,
};

describe('breaker target', () => {
  it('replaces the secret part of a host built from a credential', async () => {
    const workflow = compileTestWorkflow(
      {
        name: 'secret-host',
        nodes: [
          {
            id: 'call',
            type: 'http',
            config: { url: 'https://{{ secrets.api.host }}.example.invalid/x' },
            retry: { max_attempts: 1 },
            circuit_breaker: { volume: 1, error_percent: 1 },
          },
        ],
      },
      registry,
    );
    const node = workflow.nodes.get('call');
    if (node === undefined) throw new TypeError('no node call');
    const request = {
      input: { input: {}, nodes: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
      tenantId: 't',
    };
    await withNodeDeps(registry, { maxOutputBytes: 1 << 20 }, async (deps) => {
      const first = await runNode({ ...deps, credentials }, node, {
        ...request,
        signal: new AbortController().signal,
      });
      expect(first.status).toBe('failed');
      const [breaker] = deps.breakers.snapshot();
      expect(breaker?.target).toBe('[redacted]:443');
      const second = await runNode({ ...deps, credentials }, node, {
        ...request,
        signal: new AbortController().signal,
      });
      expect(second.error?.type).toBe('CIRCUIT_OPEN');
      const shown = JSON.stringify([deps.breakers.snapshot(), second]).toLowerCase();
      expect(shown).not.toContain(SECRET.toLowerCase());
    });
  });

  it.each([
    [
      'a base URL kept as a credential',
      'https://Partner-Secret.example/api',
      '{{ secrets.api.v }}/x',
    ],
    ['a URL with a password', 'https://u:pw@partner-secret.example/api', '{{ secrets.api.v }}/x'],
    ['an IDN label', 'bücher-geheim', 'https://{{ secrets.api.v }}.example/x'],
    ['a percent-encoded label', 'geh%65im-host', 'https://{{ secrets.api.v }}.example/x'],
    ['a host with a padded port', 'secret-host.example:08443', 'https://{{ secrets.api.v }}/x'],
    ['an IPv6 address', '[2001:DB8:0:0::1]', 'https://{{ secrets.api.v }}/x'],
    ['a hex IPv4 address', '0x0A000001', 'http://{{ secrets.api.v }}/x'],
  ])('hides a host built from %s', (_, value, url) => {
    const port = url.startsWith('https') ? 443 : 80;
    const key = (u: string) => {
      const parsed = new URL(u);
      return `${parsed.hostname}:${parsed.port === '' ? port : parsed.port}`;
    };
    const rendered = url.replace('{{ secrets.api.v }}', value);
    const breaker = breakerTarget(key(rendered), withEncodedForms([value]));
    expect(breaker?.target).toMatch(/^\[redacted\]:\d+$/);
    expect(breaker?.identity).toBe(key(rendered));
  });

  it('hides a secret inside an IDNA label, and keeps two secret hosts apart', () => {
    const a = breakerTarget('xn--shop-bcher-geheim-72b.example:443', ['bücher-geheim']);
    expect(a).toEqual({
      target: '[redacted]:443',
      identity: 'xn--shop-bcher-geheim-72b.example:443',
    });
    const b = breakerTarget('other-secret.example:443', ['other-secret']);
    expect(b?.identity).not.toBe(a?.identity);
  });

  it('keeps a host that no secret built, even one a secret mentions', () => {
    const plain = { target: 'api.example.com:443' };
    expect(breakerTarget('api.example.com:443', withEncodedForms(['tok-123456']))).toEqual(plain);
    expect(breakerTarget('api.example.com:443', [])).toEqual(plain);
    // A base-URL credential of another host does not hide this one.
    const base = withEncodedForms(['https://partner.api.example.com/v1']);
    expect(breakerTarget('api.example.com:443', base)).toEqual(plain);
  });
});
